import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One plain sentence for an error that reaches a user.
///
/// Foundation's errors print as their whole `NSError` dictionary (`Error Domain=NSURLErrorDomain
/// Code=-1003 "(null)" UserInfo={...}`), which tells a user nothing. Network, file and POSIX errors
/// are turned into a sentence naming the host or path; the project's own typed errors already
/// describe themselves and pass through unchanged.
public enum ErrorMessage {
    public static func sentence(for error: any Error) -> String {
        if let urlError = error as? URLError {
            return network(code: urlError.errorCode, url: urlError.failingURL)
        }
        let bridged = error as NSError
        switch bridged.domain {
        case NSURLErrorDomain:
            let url = (bridged.userInfo[NSURLErrorFailingURLErrorKey] as? URL)
                ?? (bridged.userInfo[NSURLErrorFailingURLStringErrorKey] as? String).flatMap(URL.init(string:))
            return network(code: bridged.code, url: url)
        case NSCocoaErrorDomain:
            return file(bridged)
        case NSPOSIXErrorDomain:
            return String(cString: strerror(Int32(bridged.code)))
        default:
            return String(describing: error)
        }
    }

    private static func network(code: Int, url: URL?) -> String {
        let host = url?.host ?? "the server"
        switch code {
        case NSURLErrorNotConnectedToInternet, NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed:
            return "cannot reach \(host) (no network connection, or its name does not resolve)"
        case NSURLErrorCannotConnectToHost, NSURLErrorNetworkConnectionLost:
            return "cannot connect to \(host)"
        case NSURLErrorTimedOut:
            return "\(host) did not answer in time"
        case NSURLErrorSecureConnectionFailed, NSURLErrorServerCertificateUntrusted, NSURLErrorServerCertificateHasBadDate,
             NSURLErrorServerCertificateNotYetValid, NSURLErrorServerCertificateHasUnknownRoot:
            return "the secure connection to \(host) failed"
        default:
            return "the request to \(host) failed (URL error \(code))"
        }
    }

    private static func file(_ error: NSError) -> String {
        let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        let subject = path.map { ": \($0)" } ?? ""
        switch error.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError:
            return "no such file or folder\(subject)"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError:
            return "permission denied\(subject)"
        case NSFileWriteFileExistsError:
            return "already exists\(subject)"
        case NSFileWriteOutOfSpaceError:
            return "no space left on the disk\(subject)"
        case NSFileWriteVolumeReadOnlyError:
            return "the disk is read-only\(subject)"
        case NSFileReadCorruptFileError:
            return "the file is corrupt or not in the expected format\(subject)"
        default:
            if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                return String(cString: strerror(Int32(underlying.code))) + subject
            }
            return "file operation failed (error \(error.code))\(subject)"
        }
    }
}
