import ArgumentParser
import BatchService

/// Photo-download options shared by `serve` (its in-process workers) and `worker`; both must agree
/// so that a URL the service accepted is fetched under the same rules.
struct DownloadOptions: ParsableArguments {
    @Option(help: "Largest photo download in bytes.") var maxPhotoBytes: Int = 100 << 20
    @Flag(name: .customLong("allow-private-url-hosts"),
          help: "Allow photo URLs whose host is loopback, link-local or private (off: such URLs are refused; give serve and worker the same setting).")
    var allowPrivateURLHosts = false

    func policy(allowURLs: Bool) -> URLPolicy { URLPolicy(allowURLs: allowURLs, allowPrivateHosts: allowPrivateURLHosts) }

    func downloader(allowURLs: Bool) -> PhotoDownloader { PhotoDownloader(policy: policy(allowURLs: allowURLs), maxBytes: maxPhotoBytes) }
}
