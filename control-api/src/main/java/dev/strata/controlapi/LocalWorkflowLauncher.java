package dev.strata.controlapi;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationState;
import dev.strata.control.service.Operations;
import dev.strata.statemachines.ExecutionResult;
import dev.strata.statemachines.ExecutionStatus;
import dev.strata.statemachines.LambdaHandlers;
import dev.strata.statemachines.LocalStepFunctions;
import dev.strata.statemachines.RunOptions;
import dev.strata.statemachines.Workflow;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs workflows on the local ASL engine ({@link LocalStepFunctions}) with their Task states routed to
 * the handlers in this JVM, each execution on a thread of its own, so {@link #launch} returns at once
 * as StartExecution does. The engine and the handlers belong to the caller.
 *
 * <p>An execution that ends without finishing its operation: if the operation is still SCHEDULED, no
 * step ran (each workflow's first write moves it to RUNNING), nothing was changed, and the launcher
 * records it FAILED with the engine's error so a caller polling it sees an end. If it is RUNNING
 * (the execution timed out, or the engine died, after steps made changes), failing it would leave
 * those changes uncompensated (an endpoint WAKING with a claimed agent): it is left RUNNING for
 * {@link OperationRecovery}, which runs the same workflow again to finish or compensate it. Each
 * operation is launched at most once per launcher ({@link WorkflowLauncher}).
 */
public final class LocalWorkflowLauncher implements WorkflowLauncher {

    private static final Logger log = LoggerFactory.getLogger(LocalWorkflowLauncher.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);

    private final LocalStepFunctions engine;
    private final LambdaHandlers functions;
    private final MetadataStore store;
    private final Operations operations;
    private final RunOptions options;
    private final Set<OperationId> launched = ConcurrentHashMap.newKeySet();
    private final ExecutorService executions;
    private final AtomicInteger running = new AtomicInteger();
    /** Per operation whose execution someone waits for ({@link #ended}): completed when it ends. */
    private final ConcurrentHashMap<OperationId, CompletableFuture<Void>> ends = new ConcurrentHashMap<>();

    public LocalWorkflowLauncher(LocalStepFunctions engine, LambdaHandlers functions, MetadataStore store, Clock clock,
                                 RunOptions options) {
        this.engine = Objects.requireNonNull(engine, "engine is null");
        this.functions = Objects.requireNonNull(functions, "functions is null");
        this.store = Objects.requireNonNull(store, "store is null");
        this.operations = new Operations(store, clock);
        this.options = Objects.requireNonNull(options, "options is null");
        AtomicInteger n = new AtomicInteger();
        this.executions = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "local-sfn-execution-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void launch(Workflow workflow, OperationId operation, Map<String, Object> input) {
        String json;
        try {
            json = JSON.writeValueAsString(input);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("workflow input for " + operation + " is not JSON: " + e.getMessage(), e);
        }
        if (!engine.isAlive()) {
            throw new ApiException(ApiException.Kind.UNAVAILABLE, "the local workflow engine is not running");
        }
        if (!launched.add(operation)) {
            return; // already started by an earlier call
        }
        running.incrementAndGet();
        executions.execute(() -> {
            try {
                run(workflow, operation, json);
            } finally {
                running.decrementAndGet();
                CompletableFuture<Void> waiting = ends.remove(operation);
                if (waiting != null) {
                    waiting.complete(null);
                }
            }
        });
    }

    /**
     * Completes when the execution this launcher started for {@code operation} has ended (its
     * last step wrote the operation's final state, or the launcher recorded the failure), so a
     * caller waiting for an operation need not poll the metadata store while the workflow uses
     * it. A future asked for before the launch or after the end never completes on its own: read
     * the operation after asking, and wait with a bound ({@link #stopWaiting} when done).
     */
    public CompletableFuture<Void> ended(OperationId operation) {
        return ends.computeIfAbsent(operation, k -> new CompletableFuture<>());
    }

    /** Forgets a future from {@link #ended} that its caller no longer waits on. */
    public void stopWaiting(OperationId operation, CompletableFuture<Void> ended) {
        ends.remove(operation, ended);
    }

    private void run(Workflow workflow, OperationId operation, String input) {
        String why;
        try {
            ExecutionResult r = engine.run(workflow, input, functions, options);
            if (r.status() == ExecutionStatus.SUCCEEDED) {
                return;
            }
            why = r.status() + ": " + r.error() + ": " + r.cause();
        } catch (RuntimeException e) {
            why = "the local workflow engine failed: " + e;
        }
        try {
            Optional<Operation> op = store.getOperation(operation);
            if (op.isPresent() && op.get().state() == OperationState.SCHEDULED) {
                operations.fail(operation, workflow.fileName() + " " + why);
            } else if (op.isPresent() && op.get().state() == OperationState.RUNNING) {
                log.warn("operation {}: its {} execution ended ({}) with the operation RUNNING; left for recovery",
                        operation, workflow.fileName(), why);
            }
        } catch (RuntimeException e) {
            log.warn("operation {}: could not record the failure of its {} execution ({}): {}", operation,
                    workflow.fileName(), why, e.toString());
        }
    }

    /** How many executions are running now. */
    public int running() {
        return running.get();
    }

    /** Stops taking executions and waits (bounded) for those running; the engine is closed by its owner. */
    @Override
    public void close() {
        executions.shutdown();
        try {
            if (!executions.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("executions still running after {}; leaving them to the engine's close", CLOSE_WAIT);
                executions.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            executions.shutdownNow();
        }
    }
}
