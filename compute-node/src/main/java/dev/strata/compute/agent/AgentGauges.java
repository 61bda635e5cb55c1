package dev.strata.compute.agent;

import dev.strata.compute.commitpath.CommitPathStatus;
import dev.strata.compute.node.ComputeNode;
import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a compute agent reports to CloudWatch every interval (docs/compute.md, "Metrics"): whether it
 * runs a Postgres that serves ({@value MetricNames#COMPUTE_RUNNING}), and while it does, its commit
 * path: the quorum's flush lag, the commits waiting on the safekeepers, and whether writers are
 * being throttled. An idle pool agent reports only the first, as 0.
 */
public final class AgentGauges {

    private AgentGauges() {
    }

    public static List<Sample> read(ComputeAgent agent) {
        ComputeAgent.Status status = agent.status();
        Optional<ComputeNode> node = "running".equals(status.state()) ? agent.compute(status.endpoint())
                : Optional.empty();
        List<Sample> out = new ArrayList<>();
        out.add(new Sample(MetricNames.COMPUTE_RUNNING, Sample.Unit.COUNT, node.isPresent() ? 1 : 0));
        node.ifPresent(n -> {
            CommitPathStatus c = n.commitPath();
            out.add(new Sample(MetricNames.COMPUTE_FLUSH_LAG_BYTES, Sample.Unit.BYTES, Math.max(0, c.flushLag())));
            out.add(new Sample(MetricNames.COMPUTE_COMMITS_WAITING, Sample.Unit.COUNT, c.commitsWaiting()));
            out.add(new Sample(MetricNames.COMPUTE_WRITERS_THROTTLED, Sample.Unit.COUNT, c.throttling() ? 1 : 0));
        });
        return out;
    }
}
