package dev.strata.control.handlers;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
import dev.strata.control.metadata.MetadataException;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;
import java.util.Objects;

/**
 * A Lambda handler for one workflow step: reads the input ({@link StepInput}), calls one method of a
 * step service, returns the fields the workflow reads (docs/control-plane.md, the steps table). The
 * handler holds nothing but its {@link ControlPlane}; the step services decide.
 *
 * <p>Errors, by class name as the workflows match them: a lost conditional-write race
 * ({@code VersionConflict}) and an unavailable DynamoDB become {@link TransientStepException}
 * (retried: the step reads again and decides again); the store's other refusals become
 * {@link StepFailedException} (permanent, compensated); what the services throw passes as it is.
 *
 * <p>The no-argument constructor is the one Lambda calls, during SnapStart's init: it takes the
 * JVM's {@link ControlPlane#fromEnvironment()}, which opens no connection until the first call.
 */
public abstract class StepHandler implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    private final String function;
    private final ControlPlane controlPlane;

    protected StepHandler(String function, ControlPlane controlPlane) {
        this.function = Objects.requireNonNull(function, "function is null");
        this.controlPlane = Objects.requireNonNull(controlPlane, "controlPlane is null");
    }

    /** The Lambda function name the workflows call this handler by ({@code strata-claim-agent}). */
    public final String functionName() {
        return function;
    }

    @Override
    public final Map<String, Object> handleRequest(Map<String, Object> input, Context context) {
        StepInput in = new StepInput(function, input);
        try {
            return run(controlPlane, in);
        } catch (MetadataException.VersionConflict | MetadataException.Unavailable e) {
            throw new TransientStepException(function + ": " + e.getMessage(), e);
        } catch (MetadataException e) {
            throw new StepFailedException(function + ": " + e.getMessage(), e);
        }
    }

    protected abstract Map<String, Object> run(ControlPlane cp, StepInput in);
}
