import ArgumentParser
import BatchService

struct HashKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hash-key", abstract: "Print the SHA-256 of an API key for the --api-keys file.")
    @Argument(help: "The key.") var key: String
    func run() { print(APIKeys.hash(key)) }
}
