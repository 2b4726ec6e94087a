import BatchService

/// The service's counters in the Prometheus text exposition format (version 0.0.4).
enum ServiceMetrics {
    static func render(_ counts: JobCounts) -> String {
        var lines: [String] = []
        lines.append("# HELP megadetector_jobs Jobs in the store by status.")
        lines.append("# TYPE megadetector_jobs gauge")
        for status in ["created", "running", "completed", "failed", "canceled", "problem"] {
            lines.append("megadetector_jobs{status=\"\(status)\"} \(counts.jobs[status] ?? 0)")
        }
        lines.append("# HELP megadetector_shards Shards in the store by state.")
        lines.append("# TYPE megadetector_shards gauge")
        for state in ["pending", "leased", "done"] {
            lines.append("megadetector_shards{state=\"\(state)\"} \(counts.shards[state] ?? 0)")
        }
        lines.append("# HELP megadetector_photos_processed_total Photos with a committed result (failures included).")
        lines.append("# TYPE megadetector_photos_processed_total counter")
        lines.append("megadetector_photos_processed_total \(counts.photosDone)")
        lines.append("# HELP megadetector_photos_failed_total Photos whose result is a failure record.")
        lines.append("# TYPE megadetector_photos_failed_total counter")
        lines.append("megadetector_photos_failed_total \(counts.photosFailed)")
        return lines.joined(separator: "\n") + "\n"
    }
}
