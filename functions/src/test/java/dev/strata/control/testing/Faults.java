package dev.strata.control.testing;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Scripted faults for the recording seams ({@link RecordingCompute}, {@link RecordingStorage}): the
 * next calls of a method throw, or block until a gate opens (bounded), and every call is recorded.
 * Thread-safe.
 */
public final class Faults {

    /** How long a blocked call waits at most for its gate: a test never leaves one behind. */
    public static final Duration GATE_BOUND = Duration.ofSeconds(30);

    /** A blocked call's gate: {@link #awaitArrival} until the call is inside, {@link #open} to let it go on. */
    public static final class Gate {
        private final CountDownLatch arrived = new CountDownLatch(1);
        private final CountDownLatch opened = new CountDownLatch(1);

        public boolean awaitArrival(Duration d) throws InterruptedException {
            return arrived.await(d.toMillis(), TimeUnit.MILLISECONDS);
        }

        public void open() {
            opened.countDown();
        }

        void pass() {
            arrived.countDown();
            try {
                if (!opened.await(GATE_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new IllegalStateException("gate not opened within " + GATE_BOUND);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted at a gate", e);
            }
        }
    }

    private final Map<String, Deque<Object>> script = new HashMap<>();
    private final List<String> calls = new ArrayList<>();
    private final List<Gate> gates = new ArrayList<>();

    /** The next {@code n} calls of {@code method} throw what {@code error} makes. */
    public synchronized Faults failNext(String method, int n, Supplier<? extends RuntimeException> error) {
        for (int i = 0; i < n; i++) {
            script.computeIfAbsent(method, m -> new ArrayDeque<>()).add(error);
        }
        return this;
    }

    /** The next call of {@code method} blocks at the returned gate (at most {@link #GATE_BOUND}). */
    public synchronized Gate blockNext(String method) {
        Gate g = new Gate();
        gates.add(g);
        script.computeIfAbsent(method, m -> new ArrayDeque<>()).add(g);
        return g;
    }

    /** Records the call, then applies the next scripted fault of its method, if any. */
    void enter(String method, String call) {
        Object next;
        synchronized (this) {
            calls.add(call);
            Deque<Object> d = script.get(method);
            next = d == null ? null : d.poll();
        }
        if (next instanceof Gate g) {
            g.pass();
        } else if (next instanceof Supplier<?> s) {
            throw (RuntimeException) s.get();
        }
    }

    public synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    public synchronized long count(String method) {
        return calls.stream().filter(c -> c.equals(method) || c.startsWith(method + " ")).count();
    }

    /** Opens every gate, so no call stays blocked after its test. */
    public synchronized void openAll() {
        gates.forEach(Gate::open);
    }
}
