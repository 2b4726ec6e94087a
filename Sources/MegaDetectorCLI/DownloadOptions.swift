import ArgumentParser
import BatchService
import Foundation

/// Photo-download options shared by `serve` (its in-process workers) and `worker`; both must agree
/// so that a URL or bucket the service accepted is fetched under the same rules.
struct DownloadOptions: ParsableArguments {
    @Option(help: "Largest photo download in bytes.") var maxPhotoBytes: Int = 100 << 20
    @Flag(name: .customLong("allow-private-url-hosts"),
          help: "Allow photo URLs whose host is loopback, link-local or private (off: such URLs are refused; give serve and worker the same setting).")
    var allowPrivateURLHosts = false
    @Option(name: .customLong("s3-bucket"),
            help: "S3 bucket jobs may read as s3://bucket/prefix (repeatable). Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.")
    var s3Buckets: [String] = []
    @Option(name: .customLong("s3-endpoint"), help: "S3-compatible endpoint (default https://s3.REGION.amazonaws.com; MinIO, Ceph, ... by URL).")
    var s3Endpoint: String?
    @Option(name: .customLong("s3-region"), help: "Region the requests are signed for.") var s3Region: String = "us-east-1"

    func policy(allowURLs: Bool) -> URLPolicy { URLPolicy(allowURLs: allowURLs, allowPrivateHosts: allowPrivateURLHosts) }

    func downloader(allowURLs: Bool) -> PhotoDownloader { PhotoDownloader(policy: policy(allowURLs: allowURLs), maxBytes: maxPhotoBytes) }

    /// The S3 client when buckets are configured; nil otherwise.
    func s3Client(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Client? {
        guard !s3Buckets.isEmpty else { return nil }
        guard let accessKey = environment["AWS_ACCESS_KEY_ID"], let secretKey = environment["AWS_SECRET_ACCESS_KEY"] else {
            throw ValidationError("--s3-bucket needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
        }
        let endpointText = s3Endpoint ?? "https://s3.\(s3Region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), let scheme = endpoint.scheme, ["http", "https"].contains(scheme), endpoint.host != nil else {
            throw ValidationError("--s3-endpoint \(endpointText) is not an http(s) URL")
        }
        return S3Client(endpoint: endpoint, signer: S3Signer(accessKey: accessKey, secretKey: secretKey,
                                                             sessionToken: environment["AWS_SESSION_TOKEN"], region: s3Region),
                        buckets: Set(s3Buckets))
    }
}
