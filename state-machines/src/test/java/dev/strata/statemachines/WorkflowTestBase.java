package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * One engine per test class (its start is the slow part), fresh stand-in handlers per test. Retries
 * wait {@link #RETRY_INTERVAL} instead of the definitions' seconds of backoff: the backoff itself is
 * checked structurally in {@link DefinitionsTest}.
 */
abstract class WorkflowTestBase {

    static final Duration RETRY_INTERVAL = Duration.ofMillis(10);
    static final RunOptions OPTIONS = RunOptions.defaults().withTimeout(Duration.ofMinutes(2))
            .withRetryInterval(RETRY_INTERVAL);
    static final ObjectMapper JSON = new ObjectMapper();

    static LocalStepFunctions engine;
    StandIns standIns;

    @BeforeAll
    static void startEngine() {
        engine = LocalStepFunctions.start();
    }

    @AfterAll
    static void stopEngine() {
        if (engine != null) {
            engine.close();
            assertThat(engine.isAlive()).isFalse();
            engine = null;
        }
    }

    @BeforeEach
    void freshStandIns() {
        standIns = new StandIns();
    }

    @AfterEach
    void releaseHangingCalls() {
        standIns.releaseAll();
    }

    ExecutionResult run(Workflow workflow, String input) {
        return engine.run(workflow, input, standIns.handlers(), OPTIONS);
    }

    ExecutionResult run(String definition, String input) {
        return engine.run(definition, input, standIns.handlers(), OPTIONS);
    }

    /**
     * The workflow's real definition with one state's {@code TimeoutSeconds} lowered to 1 s, so a
     * timeout costs the test one second instead of the production bound.
     */
    static String withTaskTimeoutOfOneSecond(Workflow workflow, String state) {
        try {
            ObjectNode def = (ObjectNode) JSON.readTree(workflow.localDefinition());
            ObjectNode s = (ObjectNode) def.path("States").path(state);
            assertThat(s.path("Type").asText()).as(state).isEqualTo("Task");
            s.put("TimeoutSeconds", 1);
            return JSON.writeValueAsString(def);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
