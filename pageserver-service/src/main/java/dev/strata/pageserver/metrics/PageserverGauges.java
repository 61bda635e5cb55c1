package dev.strata.pageserver.metrics;

import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.Sample;
import java.util.List;

/**
 * The pageserver's gauges for CloudWatch (the alarms in infra-cdk {@code Monitoring} watch them):
 * the ingest lag, the largest over its timelines (one timeline behind is what an operator must
 * see, a sum would hide it among idle ones), and the upload backlog, summed (it is what the
 * disk holds that S3 does not). Read amplification (layers visited and records replayed per page
 * read over the interval, docs/pageserver.md "Compaction") is reported for the worst timeline, as
 * the lag is; a timeline without reads in the interval counts 0. The reporter is the one caller:
 * each call drains the timelines' read windows.
 */
public final class PageserverGauges {

    /** Mean layers visited per page read over the interval, the largest over timelines. */
    public static final String LAYERS_VISITED_PER_GETPAGE = "PageserverLayersVisitedPerGetPage";
    /** Mean WAL records replayed per page read over the interval, the largest over timelines. */
    public static final String RECORDS_REPLAYED_PER_GETPAGE = "PageserverRecordsReplayedPerGetPage";

    private PageserverGauges() {
    }

    public static List<Sample> read(TimelineManager timelines) {
        long lag = 0;
        long backlog = 0;
        double layers = 0;
        double records = 0;
        for (Timeline t : timelines.list()) {
            var window = t.store().readAmplification().drainWindow();
            layers = Math.max(layers, window.layersPerRead());
            records = Math.max(records, window.recordsPerRead());
            lag = Math.max(lag, t.ingestLagBytes());
            Timeline.RemoteStatus remote = t.remoteStatus();
            if (remote != null) {
                backlog += remote.pendingBytes();
            }
        }
        return List.of(new Sample(MetricNames.PAGESERVER_INGEST_LAG_BYTES, Sample.Unit.BYTES, lag),
                new Sample(MetricNames.REMOTE_UPLOAD_QUEUE_BYTES, Sample.Unit.BYTES, backlog),
                new Sample(LAYERS_VISITED_PER_GETPAGE, Sample.Unit.COUNT, layers),
                new Sample(RECORDS_REPLAYED_PER_GETPAGE, Sample.Unit.COUNT, records));
    }
}
