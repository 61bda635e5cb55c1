package dev.strata.pgcore.net;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks a free loopback port for a server that is bound a moment later, often by another
 * process (a child JVM, a PostgreSQL postmaster).
 *
 * <p>Why not {@code new ServerSocket(0)}: the kernel hands such ports out of its ephemeral
 * range (Linux: {@code /proc/sys/net/ipv4/ip_local_port_range}, 32768-60999 by default), the
 * range it also uses for the local side of every outgoing connection. Between picking the port
 * and the child binding it (a JVM start: seconds on a loaded machine), any outgoing connection
 * on the machine may take it, and the child fails with "Address already in use" — seen in CI.
 * A port below the ephemeral range is never given to an outgoing connection, so it stays free
 * unless another server picks the very same one: a random choice among ~20,000 ports, checked
 * by binding, makes that rare. Where the ephemeral range leaves no room below it, this falls
 * back to the kernel's choice.
 */
public final class LoopbackPorts {

    /** Ports below this are left to well-known services. */
    static final int LOWEST = 10_000;
    /** At least this many candidate ports below the ephemeral range, or fall back to the kernel's choice. */
    static final int MIN_RANGE = 1_000;
    private static final int ATTEMPTS = 100;
    private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

    private LoopbackPorts() {
    }

    /** A loopback port free for TCP now, outside the ephemeral range where possible. */
    public static int pickTcp() {
        return pick(false);
    }

    /** A loopback port free for both TCP and UDP now (a safekeeper's management port also carries datagrams). */
    public static int pickTcpAndUdp() {
        return pick(true);
    }

    private static int pick(boolean udpToo) {
        int highest = ephemeralLow() - 1;
        if (highest - LOWEST >= MIN_RANGE) {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                int port = ThreadLocalRandom.current().nextInt(LOWEST, highest + 1);
                if (isFree(port, udpToo)) {
                    return port;
                }
            }
        }
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int port = kernelChoice();
            if (isFree(port, udpToo)) {
                return port;
            }
        }
        throw new IllegalStateException("no loopback port free for TCP" + (udpToo ? " and UDP" : "") + " after "
                + 2 * ATTEMPTS + " tries");
    }

    /** The first port of the kernel's ephemeral range; 32768 where it cannot be read. */
    static int ephemeralLow() {
        try {
            // Not Files.readString: it sizes its read by the file's reported size, and a /proc file's is
            // not its content's (on JDK 25 it returned "3", so every pick fell back to the kernel's
            // ephemeral range and the race this class exists to avoid was back).
            String[] range = Files.readAllLines(EPHEMERAL_RANGE, StandardCharsets.US_ASCII).getFirst().trim().split("\\s+");
            return Integer.parseInt(range[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }

    static boolean isFree(int port, boolean udpToo) {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket s = new ServerSocket()) {
            // No SO_REUSEADDR: a port still in TIME_WAIT is not offered to a server that binds without it.
            s.setReuseAddress(false);
            s.bind(new java.net.InetSocketAddress(loopback, port), 1);
            if (udpToo) {
                try (DatagramSocket d = new DatagramSocket(port, loopback)) {
                    return d.getLocalPort() == port;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int kernelChoice() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free loopback port", e);
        }
    }
}
