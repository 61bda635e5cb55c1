package dev.strata.pgcore.postgres;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A postmaster left running in a data directory by an agent that died (kill -9 of the JVM that
 * supervised it, an OOM kill): PostgreSQL children outlive their parent. Before a compute is
 * started again in that directory, the old one must go: it would otherwise keep serving
 * clients that connected to it directly, hold shared memory and CPU, and only notice that
 * its directory was replaced at its next lock-file check (up to a minute later).
 *
 * <p>The pid comes from {@code postmaster.pid}, and is signalled only if that process is a
 * {@code postgres} whose command line names this directory: a pid reused by an unrelated
 * process is left alone.
 */
public final class StalePostmaster {

    private static final Logger log = LoggerFactory.getLogger(StalePostmaster.class);

    private StalePostmaster() {
    }

    /**
     * Stops the postmaster that {@code dataDir/postmaster.pid} names, if it is still running
     * there: SIGQUIT (immediate shutdown, which takes its backends down too), then SIGKILL of it
     * and its children after {@code grace}. Returns its pid, or empty when there was none.
     */
    public static OptionalLong stop(Path dataDir, Duration grace) throws IOException {
        OptionalLong pid = runningPostmaster(dataDir);
        if (pid.isEmpty()) {
            return pid;
        }
        ProcessHandle p = ProcessHandle.of(pid.getAsLong()).orElse(null);
        if (p == null) {
            return OptionalLong.empty();
        }
        log.warn("a postmaster (pid {}) from an earlier agent is still running in {}; stopping it", pid.getAsLong(),
                dataDir);
        List<ProcessHandle> children = p.descendants().toList();
        signal("QUIT", pid.getAsLong());
        long deadline = System.nanoTime() + grace.toNanos();
        while (p.isAlive() && System.nanoTime() < deadline) {
            sleep(20);
        }
        if (p.isAlive()) {
            p.destroyForcibly();
        }
        children.forEach(ProcessHandle::destroyForcibly);
        long killDeadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while ((p.isAlive() || children.stream().anyMatch(ProcessHandle::isAlive)) && System.nanoTime() < killDeadline) {
            sleep(20);
        }
        if (p.isAlive()) {
            throw new IOException("the old postmaster (pid " + pid.getAsLong() + ") in " + dataDir
                    + " did not exit after SIGKILL");
        }
        return pid;
    }

    /** The pid in {@code postmaster.pid} if that process is alive and is a postgres serving {@code dataDir}. */
    static OptionalLong runningPostmaster(Path dataDir) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(dataDir.resolve("postmaster.pid"), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return OptionalLong.empty();
        }
        if (lines.isEmpty()) {
            return OptionalLong.empty();
        }
        long pid;
        try {
            pid = Long.parseLong(lines.get(0).trim());
        } catch (NumberFormatException e) {
            return OptionalLong.empty(); // a torn file: PostgreSQL itself treats it as stale
        }
        if (pid <= 1 || pid == ProcessHandle.current().pid()) {
            return OptionalLong.empty();
        }
        List<String> args;
        try {
            args = List.of(new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                    StandardCharsets.UTF_8).split("\0"));
        } catch (NoSuchFileException e) {
            return OptionalLong.empty(); // not running
        }
        String dir = dataDir.toAbsolutePath().normalize().toString();
        boolean postgres = !args.isEmpty() && args.get(0).endsWith("postgres") && args.contains(dir);
        return postgres ? OptionalLong.of(pid) : OptionalLong.empty();
    }

    private static void signal(String name, long pid) throws IOException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            kill.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while signalling pid " + pid, e);
        }
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
