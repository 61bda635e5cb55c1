package dev.strata.controlapi;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.model.OperationId;
import dev.strata.statemachines.Workflow;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sfn.SfnClient;
import software.amazon.awssdk.services.sfn.model.ExecutionAlreadyExistsException;

/**
 * Starts workflows on AWS Step Functions: {@code StartExecution} on the workflow's state machine (ARNs
 * from configuration: the CDK stack's outputs), the execution named by the operation id and given the
 * input. A Standard workflow started again with the same name and input returns the running
 * execution, and a name already used by an execution with other input is {@code
 * ExecutionAlreadyExists}: either way nothing runs twice, which is the launcher's idempotency.
 */
public final class StepFunctionsLauncher implements WorkflowLauncher {

    /** The environment variable naming a workflow's state machine ARN, e.g. {@code STRATA_SFN_WAKE}. */
    public static String arnVariable(Workflow w) {
        return "STRATA_SFN_" + w.name();
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final SfnClient sfn;
    private final Map<Workflow, String> stateMachines;

    public StepFunctionsLauncher(SfnClient sfn, Map<Workflow, String> stateMachines) {
        this.sfn = Objects.requireNonNull(sfn, "sfn is null");
        this.stateMachines = new EnumMap<>(Objects.requireNonNull(stateMachines, "stateMachines is null"));
        this.stateMachines.values().forEach(arn -> {
            if (!arn.startsWith("arn:")) {
                throw new IllegalArgumentException("not a state machine ARN: '" + arn + "'");
            }
        });
    }

    /** The ARNs from {@code env} ({@link #arnVariable}); a workflow without one cannot be launched. */
    public static Map<Workflow, String> arnsFrom(Map<String, String> env) {
        Map<Workflow, String> arns = new EnumMap<>(Workflow.class);
        for (Workflow w : Workflow.values()) {
            String arn = env.get(arnVariable(w));
            if (arn != null && !arn.isBlank()) {
                arns.put(w, arn.trim());
            }
        }
        return arns;
    }

    @Override
    public void launch(Workflow workflow, OperationId operation, Map<String, Object> input) {
        String arn = stateMachines.get(workflow);
        if (arn == null) {
            throw new ApiException(ApiException.Kind.UNAVAILABLE, "no state machine is configured for "
                    + workflow.fileName() + " (" + arnVariable(workflow) + ")");
        }
        String json;
        try {
            json = JSON.writeValueAsString(input);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("workflow input for " + operation + " is not JSON: " + e.getMessage(), e);
        }
        try {
            sfn.startExecution(r -> r.stateMachineArn(arn).name(operation.toString()).input(json));
        } catch (ExecutionAlreadyExistsException e) {
            // started by an earlier call for this operation
        } catch (SdkException e) {
            throw new ApiException(ApiException.Kind.UNAVAILABLE, "Step Functions did not start " + workflow.fileName()
                    + " for " + operation + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        sfn.close();
    }
}
