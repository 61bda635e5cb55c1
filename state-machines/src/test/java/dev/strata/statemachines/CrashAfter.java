package dev.strata.statemachines;

import dev.strata.control.handlers.StepHandlers;
import dev.strata.control.runtime.ControlPlane;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The step handlers as a crash leaves them: the {@code after}-th task call runs its handler (its
 * writes and storage calls happen) and its response is lost; every later call fails before reaching a
 * handler, compensations included. That is what the metadata and the storage see when the engine
 * process is killed, or the execution abandoned, after that step.
 */
final class CrashAfter {

    /** What no handler throws: the engine died (or the execution was abandoned) here. */
    static final class SimulatedCrash extends RuntimeException {
        SimulatedCrash(String message) {
            super(message);
        }
    }

    final int after;
    final AtomicInteger calls = new AtomicInteger();
    /** The functions whose handler was called (it ran, or threw its own error). */
    final List<String> ran = Collections.synchronizedList(new ArrayList<>());

    CrashAfter(int after) {
        this.after = after;
    }

    LambdaHandlers on(ControlPlane cp) {
        LambdaHandlers routes = new LambdaHandlers();
        StepHandlers.all(cp).forEach((fn, handler) -> routes.add(fn, Map.class, (in, ctx) -> {
            int n = calls.incrementAndGet();
            if (n > after) {
                throw new SimulatedCrash("the engine is gone: " + fn + " never ran");
            }
            ran.add(fn);
            @SuppressWarnings("unchecked")
            Map<String, Object> result = handler.handleRequest((Map<String, Object>) in, ctx);
            if (n == after) {
                throw new SimulatedCrash(fn + " ran; its response was lost");
            }
            return result;
        }));
        return routes;
    }
}
