package dev.strata.statemachines;

import dev.strata.control.handlers.StepHandler;
import dev.strata.control.handlers.StepHandlers;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * Routes every Lambda function the workflows call ({@code strata-<step>}, the name after
 * {@code function:} in a Task's ARN, before its alias qualifier) to the functions module's handler of that name on one
 * {@link ControlPlane}: locally the workflows run the very handlers Lambda runs, in this JVM.
 */
public final class ControlPlaneFunctions {

    private ControlPlaneFunctions() {
    }

    /** The handlers of every step function on {@code controlPlane}, for {@link LocalStepFunctions#run}. */
    public static LambdaHandlers on(ControlPlane controlPlane) {
        LambdaHandlers routes = new LambdaHandlers();
        StepHandlers.all(controlPlane).forEach((function, handler) -> route(routes, function, handler));
        return routes;
    }

    private static void route(LambdaHandlers routes, String function, StepHandler handler) {
        routes.add(function, Map.class, (in, ctx) -> handler.handleRequest(cast(in), ctx));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> in) {
        return (Map<String, Object>) in;
    }
}
