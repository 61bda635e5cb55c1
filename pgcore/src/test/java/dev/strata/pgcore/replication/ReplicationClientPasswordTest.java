package dev.strata.pgcore.replication;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.auth.PasswordPolicy;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The replication client facing a server that asks for the password in a form that gives it
 * away (issue 12: the pageserver could be pointed at any host, which then asked for cleartext).
 * The server here is a real socket on loopback that speaks just enough protocol to ask; it
 * records every byte the client sends after its startup packet. (A fake, because the point is a
 * hostile server; real PostgreSQL with md5/password auth would ask the same.)
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReplicationClientPasswordTest {

    private static final String PASSWORD = "the-cluster-replication-s3cret";

    private EventLoopGroup group;

    @BeforeEach
    void start() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    /**
     * Accepts one client, reads its startup packet, sends {@code authRequest}, returns what the
     * client sent next: its first message, or nothing if it closed.
     */
    private static CompletableFuture<byte[]> askingServer(ServerSocket server, byte[] authRequest) {
        return CompletableFuture.supplyAsync(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(10_000);
                DataInputStream in = new DataInputStream(s.getInputStream());
                int len = in.readInt();
                in.readFully(new byte[len - 4]);
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.write(authRequest);
                out.flush();
                return readUntilClosed(in);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static byte[] readUntilClosed(InputStream in) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                got.write(buf, 0, n);
                byte[] b = got.toByteArray();
                if (b.length >= 5 && b.length >= 1 + (((b[1] & 0xff) << 24) | ((b[2] & 0xff) << 16) | ((b[3] & 0xff) << 8) | (b[4] & 0xff))) {
                    break; // one whole message: enough to show what the client answered
                }
            }
        } catch (SocketTimeoutException e) {
            // the client neither sent more nor closed within 10 s: return what came
        }
        return got.toByteArray();
    }

    private static byte[] cleartextRequest() {
        return new byte[]{'R', 0, 0, 0, 8, 0, 0, 0, 3};
    }

    private static byte[] md5Request() {
        return new byte[]{'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4};
    }

    private ReplicationClient.Options options(ServerSocket server) {
        return new ReplicationClient.Options("127.0.0.1", server.getLocalPort(), "strata_replicator", PASSWORD,
                "test", Duration.ofSeconds(5));
    }

    private CompletableFuture<ReplicationClient> connect(ReplicationClient.Options options) {
        return ReplicationClient.start(group, options, s -> Lsn.INVALID, new ReplicationClient.Listener() {
            @Override
            public boolean onWal(Lsn start, byte[] payload, Lsn serverWalEnd) {
                return true;
            }

            @Override
            public void onClosed(Throwable cause) {
            }
        });
    }

    @Test
    void aCleartextRequestIsRefusedAndThePasswordNeverCrossesTheWire() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<byte[]> received = askingServer(server, cleartextRequest());
            CompletableFuture<ReplicationClient> started = connect(options(server));
            assertThatThrownBy(() -> started.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().hasMessageContaining("cleartext password").hasMessageContaining("refused")
                    .hasMessageNotContaining(PASSWORD);
            byte[] after = received.get(20, TimeUnit.SECONDS);
            assertThat(after).as("bytes the client sent after being asked").isEmpty();
        }
    }

    @Test
    void anMd5RequestIsRefusedAndNothingIsSent() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<byte[]> received = askingServer(server, md5Request());
            CompletableFuture<ReplicationClient> started = connect(options(server));
            assertThatThrownBy(() -> started.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().hasMessageContaining("MD5 password");
            assertThat(received.get(20, TimeUnit.SECONDS)).isEmpty();
        }
    }

    @Test
    void whenExplicitlyAllowedTheCleartextPasswordIsSent() throws Exception {
        // the other side of the two tests above: the server does see what an allowing client sends
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<byte[]> received = askingServer(server, cleartextRequest());
            CompletableFuture<ReplicationClient> started =
                    connect(options(server).withPasswordPolicy(PasswordPolicy.ALLOW_CLEARTEXT_AND_MD5));
            byte[] after = received.get(20, TimeUnit.SECONDS);
            assertThat(new String(after, StandardCharsets.UTF_8)).contains(PASSWORD);
            assertThatThrownBy(() -> started.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        }
    }

    @Test
    void theDefaultPolicyIsScramOnly() {
        assertThat(new ReplicationClient.Options("h", 1, "u", "p", "a", Duration.ofSeconds(1)).passwordPolicy())
                .isEqualTo(PasswordPolicy.SCRAM_ONLY);
        assertThat(new ReplicationClient.Options("h", 1, "u", "p", "a", Duration.ofSeconds(1))
                .withStartupOptions("-c x=y").passwordPolicy()).isEqualTo(PasswordPolicy.SCRAM_ONLY);
    }
}
