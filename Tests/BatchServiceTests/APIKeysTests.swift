import BatchService
import Foundation
import Testing

struct APIKeysTests {
    /// FIPS 180-2 test vectors (one block, two blocks, empty).
    @Test func sha256MatchesPublishedVectors() {
        #expect(APIKeys.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(APIKeys.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(APIKeys.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func keysFileMapsHashesToCallers() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try "# comment\nlab-a \(APIKeys.hash("key-a"))\n\nlab-b \(APIKeys.hash("key-b"))\n".write(to: file, atomically: true, encoding: .utf8)
        let keys = try APIKeys(file: file.path)
        #expect(keys.caller(forKey: "key-a") == "lab-a")
        #expect(keys.caller(forKey: "key-b") == "lab-b")
        #expect(keys.caller(forKey: "key-c") == nil)
        #expect(keys.caller(forKey: "") == nil)
    }
}

extension APIKeysTests {
    @Test func malformedKeyFilesAreRejectedWithTheLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try "lab-a \(APIKeys.hash("key-a"))\nlab-b not-a-hash\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: APIKeys.FileError.malformedLine(number: 2)) { try APIKeys(file: file.path) }
        try "# nobody yet\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: APIKeys.FileError.empty) { try APIKeys(file: file.path) }
    }
}
