package dev.strata.pgcore.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {

    @Test
    void readsTheKernelsEphemeralRange() throws Exception {
        Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
        assumeTrue(Files.isReadable(range), "not Linux: the fallback (32768) applies");
        String first;
        try (InputStream in = Files.newInputStream(range)) {
            first = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim().split("\\s+")[0];
        }
        assertThat(LoopbackPorts.ephemeralLow()).isEqualTo(Integer.parseInt(first));
    }

    @Test
    void picksAPortBelowTheEphemeralRangeThatCanBeBound() throws Exception {
        int low = LoopbackPorts.ephemeralLow();
        for (int i = 0; i < 20; i++) {
            int port = LoopbackPorts.pickTcpAndUdp();
            if (low - 1 - LoopbackPorts.LOWEST >= LoopbackPorts.MIN_RANGE) {
                assertThat(port).isBetween(LoopbackPorts.LOWEST, low - 1);
            }
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress());
                 DatagramSocket d = new DatagramSocket(port, InetAddress.getLoopbackAddress())) {
                assertThat(s.getLocalPort()).isEqualTo(port);
                assertThat(d.getLocalPort()).isEqualTo(port);
            }
        }
    }

    @Test
    void aPortInUseIsNotFree() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            assertThat(LoopbackPorts.isFree(taken.getLocalPort(), false)).isFalse();
        }
        try (DatagramSocket taken = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            // Free for TCP maybe, but a caller that needs UDP too must not get it.
            assertThat(LoopbackPorts.isFree(port, true)).isFalse();
        }
    }
}
