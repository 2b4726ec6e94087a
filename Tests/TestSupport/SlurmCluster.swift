import Foundation

/// A one-node Slurm cluster for one test: slurmctld and slurmd on this host with their own config,
/// ports and state folder (munged is started if it is not running). `start()` returns nil where
/// Slurm or munge is not installed or we are not root, so tests skip there.
public final class SlurmCluster: @unchecked Sendable {
    public let folder: URL
    var configuration: URL { folder.appendingPathComponent("slurm.conf") }
    var startedMunge = false
    /// What `sbatch`, `squeue` and `scontrol` need in their environment.
    public var environment: [String: String] { ["SLURM_CONF": configuration.path] }

    public static var unavailableReason: String? {
        let needed = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"]
        if let missing = needed.first(where: { !FileManager.default.isExecutableFile(atPath: $0) }) {
            return "\(missing) is missing (apt-get install -y --no-install-recommends slurm-wlm munge)"
        }
        return getuid() == 0 ? nil : "a test Slurm cluster needs root"
    }

    init() {
        folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("slurm-\(UUID().uuidString.prefix(8))")
    }

    static func shortHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(name.split(separator: ".").first ?? "localhost")
    }

    public static func start() throws -> SlurmCluster? {
        guard unavailableReason == nil else { return nil }
        let cluster = SlurmCluster()
        let manager = FileManager.default
        for path in ["state", "spool"] {
            try manager.createDirectory(at: cluster.folder.appendingPathComponent(path), withIntermediateDirectories: true)
        }
        if try DaemonLauncher.run(["pgrep", "-x", "munged"]) != 0 {
            for path in ["/run/munge", "/var/log/munge", "/var/lib/munge"] {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
                try manager.setAttributes([.ownerAccountName: "munge"], ofItemAtPath: path)
            }
            if !manager.fileExists(atPath: "/etc/munge/munge.key") {
                try DaemonLauncher.run(["runuser", "-u", "munge", "--", "/usr/sbin/mungekey", "--create"])
            }
            guard try DaemonLauncher.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"]) == 0 else {
                throw Fixtures.FixtureError.missing("munged did not start")
            }
            cluster.startedMunge = true
        }
        let host = shortHostName()
        let port = Fixtures.unusedPort()
        let folder = cluster.folder.path
        try """
            ClusterName=mdtest
            SlurmctldHost=\(host)
            SlurmUser=root
            SlurmdUser=root
            AuthType=auth/munge
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            AccountingStorageType=accounting_storage/none
            JobAcctGatherType=jobacct_gather/none
            MpiDefault=none
            ReturnToService=2
            SlurmctldPort=\(port)
            SlurmdPort=\(port + 1)
            StateSaveLocation=\(folder)/state
            SlurmdSpoolDir=\(folder)/spool
            SlurmctldPidFile=\(folder)/slurmctld.pid
            SlurmdPidFile=\(folder)/slurmd.pid
            SlurmctldLogFile=\(folder)/slurmctld.log
            SlurmdLogFile=\(folder)/slurmd.log
            SlurmdTimeout=10
            SlurmctldTimeout=10
            NodeName=\(host) CPUs=2 RealMemory=4000 State=UNKNOWN
            PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP

            """.write(to: cluster.configuration, atomically: true, encoding: .utf8)
        guard try DaemonLauncher.run(["/usr/sbin/slurmctld", "-f", cluster.configuration.path]) == 0,
              try DaemonLauncher.run(["/usr/sbin/slurmd", "-f", cluster.configuration.path]) == 0 else {
            cluster.stop()
            throw Fixtures.FixtureError.missing("slurmctld/slurmd did not start; see \(folder)")
        }
        // The node reports idle within a second or two.
        for _ in 0..<100 {
            let log = cluster.folder.appendingPathComponent("sinfo.txt")
            try DaemonLauncher.run(["sinfo", "-h", "-o", "%t"], environment: cluster.environment, log: log)
            if (try? String(contentsOf: log, encoding: .utf8))?.contains("idle") == true { return cluster }
            Thread.sleep(forTimeInterval: 0.1)
        }
        cluster.stop()
        throw Fixtures.FixtureError.missing("the Slurm node never became idle; see \(folder)")
    }

    /// Output of a Slurm command (`sbatch`, `squeue`, ...) run against this cluster.
    public func command(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let log = folder.appendingPathComponent("command-\(UUID().uuidString.prefix(6)).txt")
        let status = try DaemonLauncher.run(arguments, environment: environment, log: log)
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    public func stop() {
        _ = try? DaemonLauncher.run(["scontrol", "shutdown"], environment: environment)
        // slurmd does not always follow slurmctld down: stop both by their pid files.
        for daemon in ["slurmd", "slurmctld"] {
            guard let text = try? String(contentsOf: folder.appendingPathComponent("\(daemon).pid"), encoding: .utf8),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            kill(pid, SIGTERM)
            for _ in 0..<50 where kill(pid, 0) == 0 { Thread.sleep(forTimeInterval: 0.1) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        if startedMunge { _ = try? DaemonLauncher.run(["pkill", "-x", "munged"]) }
        try? FileManager.default.removeItem(at: folder)
    }
}
