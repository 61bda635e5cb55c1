package dev.strata.safekeeper.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.node.SafekeeperConfig;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gossip socket binds the management port's number over UDP. */
class PositionGossipPortTest {

    @Test
    void theManagementPortNumberOverUdp(@TempDir Path dir) {
        try (SafekeeperServer sk = SafekeeperServer.start(TestSafekeepers.config(NodeId.of("sk-1"), dir, "pw"))) {
            assertThat(sk.node().positionGossip().orElseThrow().port()).isEqualTo(sk.url().getPort());
        }
    }

    /** A configured port whose UDP side is taken: a clear error, and the TCP port is let go again. */
    @Test
    void aTakenUdpPortIsAClearErrorAndReleasesTheHttpPort(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        SafekeeperConfig config = TestSafekeepers.config(NodeId.of("sk-1"), dir.resolve("a"), "pw").withPorts(0, port);
        try (DatagramSocket taken = new DatagramSocket(port, InetAddress.getLoopbackAddress())) {
            assertThatThrownBy(() -> SafekeeperServer.start(config))
                    .hasMessageContaining("UDP").hasMessageContaining(Integer.toString(port));
        }
        // Nothing of the failed start keeps the port: with UDP free it starts on it (Micronaut
        // closes its listening socket asynchronously, so allow it a few seconds).
        SafekeeperConfig again = TestSafekeepers.config(NodeId.of("sk-1"), dir.resolve("b"), "pw").withPorts(0, port);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try (SafekeeperServer sk = SafekeeperServer.start(again)) {
                assertThat(sk.url().getPort()).isEqualTo(port);
                return;
            } catch (RuntimeException stillBound) {
                assertThat(System.nanoTime()).as("port " + port + " released: " + stillBound).isLessThan(deadline);
                Thread.sleep(100);
            }
        }
    }
}
