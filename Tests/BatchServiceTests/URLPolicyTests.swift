import BatchService
import Foundation
import Testing

/// Photo URLs: only http(s), and no internal hosts unless the operator allows them.
struct URLPolicyTests {
    @Test func internalAddressesAreRefused() {
        let policy = URLPolicy(allowURLs: true, allowPrivateHosts: false)
        for url in ["http://127.0.0.1/a.jpg", "http://localhost:8080/a.jpg", "http://[::1]/a.jpg", "http://169.254.169.254/latest/meta-data",
                    "http://10.1.2.3/a.jpg", "http://192.168.0.1/a.jpg", "http://172.20.0.1/a.jpg", "http://0.0.0.0/a.jpg",
                    "http://[fe80::1]/a.jpg", "http://[fd00::1]/a.jpg", "http://[::ffff:127.0.0.1]/a.jpg"] {
            #expect(policy.refusal(url) != nil, "\(url) must be refused")
        }
        #expect(policy.refusal("http://8.8.8.8/a.jpg") == nil, "a public address literal needs no DNS and is allowed")
        #expect(policy.refusal("http://172.32.0.1/a.jpg") == nil, "172.32/16 is public")
    }

    @Test func schemesAndSwitches() {
        let policy = URLPolicy(allowURLs: true, allowPrivateHosts: false)
        #expect(policy.refusal("file:///etc/passwd") != nil)
        #expect(policy.refusal("ftp://8.8.8.8/a.jpg") != nil)
        #expect(policy.refusal("gopher://8.8.8.8/") != nil)
        #expect(URLPolicy.refuseAll.refusal("http://8.8.8.8/a.jpg") != nil, "URLs are off unless --allow-urls")
        #expect(URLPolicy(allowURLs: true, allowPrivateHosts: true).refusal("http://127.0.0.1:9/a.jpg") == nil)
    }
}
