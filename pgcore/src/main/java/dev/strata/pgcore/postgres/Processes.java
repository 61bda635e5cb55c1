package dev.strata.pgcore.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs short helper programs (initdb, --version) with a bound on their run time. */
final class Processes {

    private Processes() {
    }

    /** Runs {@code command}, returns its combined output; fails with that output on a non-zero exit or timeout. */
    static String runForOutput(List<String> command, Duration timeout) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        try {
            Process p = pb.start();
            // Output is small for these commands; reading it on this thread before waitFor
            // would block forever on a hung program, so read it in the background, on a platform
            // thread: a virtual one would hold its carrier for as long as the read blocks.
            var output = new java.util.concurrent.CompletableFuture<String>();
            Thread.ofPlatform().daemon().name("output-" + java.nio.file.Path.of(command.get(0)).getFileName()).start(() -> {
                try {
                    output.complete(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    output.completeExceptionally(e);
                }
            });
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeout);
            }
            String out = output.get(5, TimeUnit.SECONDS);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed with exit code "
                        + p.exitValue() + ":\n" + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + command.get(0), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command.get(0), e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("could not read the output of " + command.get(0), e);
        }
    }
}
