package dev.strata.statemachines;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The local engine's per-execution overhead (bench/local-sfn.sh): executions of a one-state Pass machine
 * (engine round trip only) and of the wake workflow with stand-in handlers that return at once (four
 * task calls over the loopback endpoint). Prints p50/p99/mean per kind after a warm-up.
 *
 * <pre>java ... LocalStepFunctionsBench [executions, default 200] [warmup, default 30]</pre>
 */
public final class LocalStepFunctionsBench {

    private static final String PASS = """
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}""";

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        long t0 = System.nanoTime();
        try (LocalStepFunctions sfn = LocalStepFunctions.start()) {
            System.out.printf("engine start: %.0f ms%n", (System.nanoTime() - t0) / 1e6);
            RunOptions opts = RunOptions.defaults().withTimeout(Duration.ofMinutes(1));
            StandIns standIns = new StandIns();
            String wakeInput = """
                    {"operationId": "op-1", "endpointId": "ep-1", "projectId": "pr-1", "branchId": "br-main"}""";
            report("pass (1 state, no task)", measure(n, warmup,
                    () -> sfn.run(PASS, "{}", standIns.handlers(), opts)));
            report("wake (4 tasks, stand-ins)", measure(n, warmup,
                    () -> sfn.run(Workflow.WAKE, wakeInput, standIns.handlers(), opts)));
        }
    }

    private static List<Double> measure(int n, int warmup, java.util.function.Supplier<ExecutionResult> run) {
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < warmup + n; i++) {
            long s = System.nanoTime();
            ExecutionResult r = run.get();
            double d = (System.nanoTime() - s) / 1e6;
            if (!r.succeeded()) {
                throw new IllegalStateException("execution failed: " + r.error() + " " + r.cause());
            }
            if (i >= warmup) {
                ms.add(d);
            }
        }
        return ms;
    }

    private static void report(String what, List<Double> ms) {
        List<Double> sorted = new ArrayList<>(ms);
        Collections.sort(sorted);
        double mean = sorted.stream().mapToDouble(Double::doubleValue).average().orElse(0);
        System.out.printf("%-28s n=%d p50=%.1f ms p99=%.1f ms mean=%.1f ms%n", what, sorted.size(),
                sorted.get(sorted.size() / 2), sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(sorted.size() * 0.99) - 1)), mean);
    }
}
