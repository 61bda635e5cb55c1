package dev.strata.compute.commitpath;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Stops and continues PostgreSQL backends with SIGSTOP / SIGCONT through {@code kill(1)}: the
 * JDK has no way to send those signals. As root the agent may signal the compute's processes
 * although they run as {@code postgres} (decision 0002); as another user PostgreSQL runs as that
 * same user. One {@code kill} for all pids per transition, so a cycle costs two short forks.
 */
public interface BackendSignals {

    void stop(Collection<Long> pids);

    void cont(Collection<Long> pids);

    /** The real one: {@code kill -STOP} / {@code kill -CONT}. */
    static BackendSignals kill() {
        return new BackendSignals() {
            @Override
            public void stop(Collection<Long> pids) {
                send("STOP", pids);
            }

            @Override
            public void cont(Collection<Long> pids) {
                send("CONT", pids);
            }
        };
    }

    private static void send(String signal, Collection<Long> pids) {
        if (pids.isEmpty()) {
            return;
        }
        List<String> cmd = new ArrayList<>();
        cmd.add("kill");
        cmd.add("-" + signal);
        pids.forEach(p -> cmd.add(Long.toString(p)));
        try {
            Process k = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!k.waitFor(10, TimeUnit.SECONDS)) {
                k.destroyForcibly();
                throw new IllegalStateException("kill -" + signal + " did not finish in 10 s");
            }
            // A non-zero exit means some pid had exited meanwhile: the others were signalled.
        } catch (IOException e) {
            throw new IllegalStateException("cannot run kill -" + signal + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted sending SIG" + signal, e);
        }
    }
}
