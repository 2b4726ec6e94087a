import Crypto

/// MD5 as the fixture generators record it (Python's hashlib.md5().hexdigest()), through swift-crypto.
public enum Checksum {
    public static func md5Hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        Insecure.MD5.hash(data: Array(bytes)).map { byte in
            String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
        }.joined()
    }
}
