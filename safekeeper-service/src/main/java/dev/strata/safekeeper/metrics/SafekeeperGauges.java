package dev.strata.safekeeper.metrics;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.Sample;
import dev.strata.safekeeper.node.SafekeeperNode;
import dev.strata.safekeeper.timeline.Timeline;
import dev.strata.safekeeper.timeline.TimelineStatus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A safekeeper's gauges for CloudWatch (infra-cdk {@code Monitoring} alarms on
 * {@link MetricNames#SAFEKEEPER_IN_QUORUM}). Per-timeline values are folded into one number per
 * node, as the pageserver's are: lags are the largest over timelines (one timeline behind must
 * show, not be averaged away), byte totals are sums. The commit advance is the difference from
 * the previous {@link #read()}, so one instance serves one reporter.
 */
public final class SafekeeperGauges {

    private final SafekeeperNode node;
    private final Path dataDir;
    private final Map<TimelineId, Lsn> lastCommit = new HashMap<>();

    public SafekeeperGauges(SafekeeperNode node, Path dataDir) {
        this.node = Objects.requireNonNull(node, "node is null");
        this.dataDir = Objects.requireNonNull(dataDir, "dataDir is null");
    }

    public synchronized List<Sample> read() {
        long flushLag = 0;
        long advance = 0;
        long backlog = 0;
        long retained = 0;
        int receivers = 0;
        boolean canAccept = true;
        Map<TimelineId, Lsn> commits = new HashMap<>();
        for (Timeline t : node.timelineList()) {
            TimelineStatus s = t.status();
            Lsn commit = s.commitLsn();
            Lsn flush = s.flushLsn();
            if (commit.isValid() && flush.isValid() && commit.isAfter(flush)) {
                flushLag = Math.max(flushLag, commit.minus(flush));
            }
            Lsn before = lastCommit.get(s.timelineId());
            if (before != null && commit.isAfter(before)) {
                advance += commit.minus(before);
            }
            commits.put(s.timelineId(), commit);
            backlog += s.offloadBacklogBytes(t.wal().segmentSize());
            Lsn from = s.walRetainedFromLsn();
            if (from.isValid() && flush.isAfter(from)) {
                retained += flush.minus(from);
            }
            if (s.receiver().startsWith("streaming")) {
                receivers++;
            }
            if (t.wal().failure() != null) {
                canAccept = false;
            }
        }
        lastCommit.clear();
        lastCommit.putAll(commits);
        long free;
        try {
            free = Files.getFileStore(dataDir).getUsableSpace();
        } catch (IOException e) {
            throw new UncheckedIOException("safekeeper " + node.nodeId() + ": free space of " + dataDir, e);
        }
        return List.of(
                new Sample(MetricNames.SAFEKEEPER_IN_QUORUM, Sample.Unit.COUNT, canAccept ? 1 : 0),
                new Sample(MetricNames.SAFEKEEPER_RECEIVERS, Sample.Unit.COUNT, receivers),
                new Sample(MetricNames.SAFEKEEPER_FLUSH_LAG_BYTES, Sample.Unit.BYTES, flushLag),
                new Sample(MetricNames.SAFEKEEPER_COMMIT_ADVANCE_BYTES, Sample.Unit.BYTES, advance),
                new Sample(MetricNames.SAFEKEEPER_OFFLOAD_BACKLOG_BYTES, Sample.Unit.BYTES, backlog),
                new Sample(MetricNames.SAFEKEEPER_WAL_RETAINED_BYTES, Sample.Unit.BYTES, retained),
                new Sample(MetricNames.SAFEKEEPER_DISK_FREE_BYTES, Sample.Unit.BYTES, free));
    }
}
