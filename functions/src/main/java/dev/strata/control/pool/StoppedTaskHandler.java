package dev.strata.control.pool;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import dev.strata.control.runtime.ControlPlane;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The target of the stack's rule on the compute pool's "ECS Task State Change" events
 * (infra-cdk {@code PoolReaperRule}): a STOPPED task's IDLE agents leave the warm pool
 * ({@link PoolReaper}). Any other event, or one without an address, changes nothing.
 */
public final class StoppedTaskHandler implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    /** How long an agent's API gets to accept a connection before it counts as gone. */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final ControlPlane controlPlane;
    private final PoolReaper.Liveness liveness;

    /** Lambda's constructor: the metadata table from the environment. */
    public StoppedTaskHandler() {
        this(ControlPlane.fromEnvironment(), PoolReaper.tcp(PROBE_TIMEOUT));
    }

    StoppedTaskHandler(ControlPlane controlPlane, PoolReaper.Liveness liveness) {
        this.controlPlane = Objects.requireNonNull(controlPlane, "controlPlane is null");
        this.liveness = Objects.requireNonNull(liveness, "liveness is null");
    }

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> input, Context context) {
        TaskStoppedEvent e = TaskStoppedEvent.of(input);
        if (!e.stopped() || e.addresses().isEmpty()) {
            return Map.of("retired", List.of(), "kept", List.of(), "ignored", true);
        }
        PoolReaper.Outcome o = new PoolReaper(controlPlane.metadata(), liveness).taskStopped(e.taskArn(), e.addresses());
        return Map.of("retired", o.retired().stream().map(Object::toString).toList(),
                "kept", o.kept().stream().map(Object::toString).toList(), "ignored", false);
    }
}
