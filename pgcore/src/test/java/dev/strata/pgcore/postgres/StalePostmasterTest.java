package dev.strata.pgcore.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A postmaster that outlived its agent is stopped before a new compute takes its directory. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class StalePostmasterTest {

    @TempDir
    Path tmp;

    @Test
    void aPostmasterStillRunningInTheDirectoryIsStoppedWithItsBackends() throws Exception {
        Path dataDir = tmp.resolve("pgdata");
        PostgresServer server = PostgresServer.builder().dataDir(dataDir).start();
        try {
            long pid = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
            ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
            assertThat(postmaster.descendants().count()).as("background processes").isPositive();
            var children = postmaster.descendants().toList();

            OptionalLong stopped = StalePostmaster.stop(dataDir, Duration.ofSeconds(10));

            assertThat(stopped).hasValue(pid);
            assertThat(postmaster.isAlive()).isFalse();
            assertThat(children).noneMatch(ProcessHandle::isAlive);
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", server.port()), 2000);
                throw new AssertionError("the old postmaster's port still accepts connections");
            } catch (java.io.IOException expected) {
                // refused: nobody listens any more
            }
            // nothing left to stop the second time
            assertThat(StalePostmaster.stop(dataDir, Duration.ofSeconds(1))).isEmpty();
        } finally {
            server.kill();
        }
    }

    @Test
    void aPidReusedByAnotherProcessIsLeftAlone() throws Exception {
        Path dataDir = Files.createDirectories(tmp.resolve("pgdata"));
        Process sleeper = new ProcessBuilder("sleep", "60").start();
        try {
            Files.writeString(dataDir.resolve("postmaster.pid"), sleeper.pid() + "\n" + dataDir + "\n");
            assertThat(StalePostmaster.stop(dataDir, Duration.ofSeconds(1))).isEmpty();
            assertThat(sleeper.isAlive()).isTrue();
        } finally {
            sleeper.destroyForcibly();
        }
    }

    @Test
    void noOrATornPidFileMeansNothingToStop() throws Exception {
        Path dataDir = Files.createDirectories(tmp.resolve("pgdata"));
        assertThat(StalePostmaster.stop(dataDir, Duration.ofSeconds(1))).isEmpty();
        Files.writeString(dataDir.resolve("postmaster.pid"), "12");
        Files.writeString(dataDir.resolve("postmaster.pid"), "");
        assertThat(StalePostmaster.stop(dataDir, Duration.ofSeconds(1))).isEmpty();
        Files.writeString(dataDir.resolve("postmaster.pid"), "not-a-pid\n");
        assertThat(StalePostmaster.stop(dataDir, Duration.ofSeconds(1))).isEmpty();
    }
}
