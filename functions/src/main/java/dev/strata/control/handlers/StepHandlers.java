package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Every step handler, by the Lambda function name the workflows call it by. The AWS deployment
 * makes one function per entry (handler class {@code <class>::handleRequest}); the local engine
 * ({@code state-machines}' LocalStepFunctions) routes each Task state to the same handler objects.
 */
public final class StepHandlers {

    private static final List<Function<ControlPlane, StepHandler>> ALL = List.of(
            ClaimAgentHandler::new,
            ElectHandler::new,
            StartPostgresHandler::new,
            MarkEndpointRunningHandler::new,
            ReleaseAgentHandler::new,
            MarkEndpointSuspendedHandler::new,
            RecordOperationFailureHandler::new,
            CheckActivityHandler::new,
            CompleteOperationHandler::new,
            MarkEndpointSuspendingHandler::new,
            StopPostgresHandler::new,
            MarkEndpointFailedHandler::new,
            CreateProjectRecordHandler::new,
            CreateTimelineHandler::new,
            CreateEndpointHandler::new,
            ActivateProjectHandler::new,
            DeleteTimelineHandler::new,
            MarkProjectFailedHandler::new,
            CreateBranchRecordHandler::new,
            CreateBranchTimelineHandler::new,
            ActivateBranchHandler::new,
            DiscardBranchHandler::new,
            DeleteBranchTimelineHandler::new,
            BeginBranchDeleteHandler::new,
            DeleteBranchRecordHandler::new,
            BeginRestoreHandler::new,
            CreateBackupBranchHandler::new,
            RepointBranchHandler::new,
            PlanEndpointRestartHandler::new,
            DiscardRestoreHandler::new);

    private StepHandlers() {
    }

    /** One handler of each function on {@code controlPlane}, by function name, in the order above. */
    public static Map<String, StepHandler> all(ControlPlane controlPlane) {
        Map<String, StepHandler> out = new LinkedHashMap<>();
        for (Function<ControlPlane, StepHandler> make : ALL) {
            StepHandler h = make.apply(controlPlane);
            out.put(h.functionName(), h);
        }
        return out;
    }
}
