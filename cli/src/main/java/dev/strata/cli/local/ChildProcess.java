package dev.strata.cli.local;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A component of the local cluster run as its own JVM (a safekeeper or the pageserver), so
 * that it can crash (kill -9) without taking the others with it. Started from this JVM's
 * classpath; its standard output goes to a log file once it has printed its READY line.
 */
final class ChildProcess implements AutoCloseable {

    private static final Pattern PORT = Pattern.compile("(\\w+)=(\\d+)");

    private final String name;
    private final Process process;
    private final Map<String, Integer> ports;

    private ChildProcess(String name, Process process, Map<String, Integer> ports) {
        this.name = name;
        this.process = process;
        this.ports = ports;
    }

    /**
     * Starts {@code mainClass} and waits for its {@code READY name=port ...} line.
     *
     * @param env extra environment (secrets go here, never on the command line)
     */
    static ChildProcess start(String name, String mainClass, List<String> args, Map<String, String> env, Path log,
                              Duration timeout) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("--enable-native-access=ALL-UNNAMED"); // Netty's native epoll transport
        cmd.add("-Xmx" + ClusterJvm.CHILD_HEAP); // one service per JVM here; bounded like the cluster JVM
        cmd.add("-Dorg.slf4j.simpleLogger.logFile=" + log);
        cmd.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
        cmd.add(mainClass);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            // One platform thread per child reads its READY line, then drains its stdout for as
            // long as it lives, so that it never blocks on a full pipe. Not a virtual thread: a
            // blocking read of a pipe holds its carrier, and with one per child the cluster JVM's
            // few carriers were all held, starving every other virtual thread (seen: `strata
            // status` hung, its per-safekeeper tasks never ran).
            CompletableFuture<Map<String, Integer>> ready = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("stdout-" + name).start(() -> {
                try {
                    ready.complete(readReady(p));
                    p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                } catch (IOException | RuntimeException e) {
                    ready.completeExceptionally(e); // no effect once READY was read: then it exited
                }
            });
            try {
                Map<String, Integer> ports = ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                return new ChildProcess(name, p, ports);
            } catch (TimeoutException e) {
                p.destroyForcibly();
                throw new IllegalStateException(name + " did not report READY within " + timeout + "; see " + log);
            } catch (java.util.concurrent.ExecutionException e) {
                p.destroyForcibly();
                throw new IllegalStateException(name + " failed to start: " + e.getCause().getMessage() + "; see " + log);
            } catch (InterruptedException e) {
                // Nobody will own it: without this a test timeout left the child running for good.
                p.destroyForcibly();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not start " + name, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted starting " + name, e);
        }
    }

    private static Map<String, Integer> readReady(Process p) {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        try {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (line.startsWith("READY ")) {
                    Map<String, Integer> ports = new java.util.HashMap<>();
                    Matcher m = PORT.matcher(line);
                    while (m.find()) {
                        ports.put(m.group(1), Integer.parseInt(m.group(2)));
                    }
                    return ports;
                }
                if (seen.length() < 4000) {
                    seen.append(line).append('\n');
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("exited before READY:\n" + seen);
    }

    int port(String key) {
        Integer p = ports.get(key);
        if (p == null) {
            throw new IllegalStateException(name + " reported no " + key + " port");
        }
        return p;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** kill -9: the crash the durability tests inject. */
    void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGTERM and wait (the components flush and stop cleanly), then kill -9 if it hangs. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }
}
