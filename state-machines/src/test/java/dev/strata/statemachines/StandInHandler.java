package dev.strata.statemachines;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A stand-in for one of the real Lambda handlers (they come next, in the {@code functions} module):
 * it exists only to inject outcomes into the workflows on the real engine. Each call takes the next
 * scripted outcome (return, throw, or hang until released), or the default result when the script
 * is used up, and records the input it got, so tests assert what each step was given.
 */
final class StandInHandler implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    /** How long a hanging call waits at most for {@link #release()}: the tests never leave one behind. */
    private static final Duration HANG_BOUND = Duration.ofSeconds(30);

    private final String function;
    private final Map<String, Object> defaultResult;
    private final Deque<Supplier<Map<String, Object>>> script = new ArrayDeque<>();
    private final List<Map<String, Object>> inputs = new CopyOnWriteArrayList<>();
    private final CountDownLatch released = new CountDownLatch(1);

    StandInHandler(String function, Map<String, Object> defaultResult) {
        this.function = function;
        this.defaultResult = defaultResult;
    }

    /** The next call throws this. */
    synchronized StandInHandler thenThrow(RuntimeException e) {
        script.add(() -> {
            throw e;
        });
        return this;
    }

    /** The next {@code n} calls throw what the supplier makes. */
    synchronized StandInHandler thenThrow(int n, Supplier<RuntimeException> e) {
        for (int i = 0; i < n; i++) {
            script.add(() -> {
                throw e.get();
            });
        }
        return this;
    }

    /** The next call blocks until {@link #release()} (bounded), then returns the default result. */
    synchronized StandInHandler thenHang() {
        script.add(() -> {
            try {
                released.await(HANG_BOUND.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return defaultResult;
        });
        return this;
    }

    void release() {
        released.countDown();
    }

    List<Map<String, Object>> inputs() {
        return inputs;
    }

    int calls() {
        return inputs.size();
    }

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> input, Context context) {
        if (!context.getFunctionName().equals(function)) {
            throw new IllegalStateException("stand-in for " + function + " called as " + context.getFunctionName());
        }
        inputs.add(input);
        Supplier<Map<String, Object>> next;
        synchronized (this) {
            next = script.poll();
        }
        return next == null ? defaultResult : next.get();
    }
}
