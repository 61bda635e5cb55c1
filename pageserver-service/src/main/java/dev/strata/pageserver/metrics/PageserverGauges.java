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
 * disk holds that S3 does not).
 */
public final class PageserverGauges {

    private PageserverGauges() {
    }

    public static List<Sample> read(TimelineManager timelines) {
        long lag = 0;
        long backlog = 0;
        for (Timeline t : timelines.list()) {
            lag = Math.max(lag, t.ingestLagBytes());
            Timeline.RemoteStatus remote = t.remoteStatus();
            if (remote != null) {
                backlog += remote.pendingBytes();
            }
        }
        return List.of(new Sample(MetricNames.PAGESERVER_INGEST_LAG_BYTES, Sample.Unit.BYTES, lag),
                new Sample(MetricNames.REMOTE_UPLOAD_QUEUE_BYTES, Sample.Unit.BYTES, backlog));
    }
}
