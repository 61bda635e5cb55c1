package dev.strata.control.handlers;

import dev.strata.control.service.BranchSteps;
import java.util.LinkedHashMap;
import java.util.Map;

/** The result of an endpoint plan as the workflows' Choice states read it. */
final class PlanHandlers {

    private PlanHandlers() {
    }

    /** {@code {phase, endpointId?, agentId?}}: the ids only when the phase acts on them. */
    static Map<String, Object> plan(BranchSteps.EndpointPlan plan) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("phase", plan.phase().json());
        plan.endpoint().ifPresent(e -> out.put("endpointId", e.toString()));
        plan.agent().ifPresent(a -> out.put("agentId", a.toString()));
        return out;
    }
}
