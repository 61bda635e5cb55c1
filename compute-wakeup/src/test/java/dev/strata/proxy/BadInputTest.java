package dev.strata.proxy;

import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.FrontendMessageEncoder;
import dev.strata.pgcore.testing.PgTestClient;
import dev.strata.proxy.testing.PostgresComputeControl;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile and broken clients on real sockets: each gets a clear ErrorResponse (or a close)
 * within bounded time, and a well-behaved client on the same proxy still gets its session.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BadInputTest {

    @TempDir
    static Path tls;

    static PostgresComputeControl control;
    static ProxyServer proxy;
    static ProxyServer tlsProxy;

    @BeforeAll
    static void start() {
        control = new PostgresComputeControl();
        control.add("ok", null);
        control.add("cleartext", null, "password");
        proxy = ProxyServer.start(ProxyConfig.defaults().withPort(0).withStartupTimeout(Duration.ofSeconds(1)), control);
        tlsProxy = ProxyServer.start(ProxyConfig.defaults().withPort(0).withTlsDirectory(tls), control);
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{proxy, tlsProxy, control}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort; the next one must still close
            }
        }
    }

    private static Map<String, String> params(String endpoint) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", "postgres");
        p.put("database", "postgres");
        p.put("options", "endpoint=" + endpoint);
        return p;
    }

    /** A well-behaved client still gets a session and a query answered. */
    private static void anotherClientStillWorks(ProxyServer p) {
        try (PgTestClient c = new PgTestClient("127.0.0.1", p.port())) {
            c.login(params("ok"), control.compute("ok").server.password());
            assertThat(c.query("select 1")).anySatisfy(m -> assertThat(m).isInstanceOf(BackendMessage.DataRow.class));
        }
    }

    private static byte[] encode(FrontendMessage... messages) {
        EmbeddedChannel enc = new EmbeddedChannel(new FrontendMessageEncoder());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (FrontendMessage m : messages) {
            enc.writeOutbound(m);
            for (ByteBuf b; (b = enc.readOutbound()) != null; ) {
                byte[] bytes = new byte[b.readableBytes()];
                b.readBytes(bytes);
                b.release();
                out.writeBytes(bytes);
            }
        }
        return out.toByteArray();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 20 s: " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void garbageBeforeTheStartupPacketGetsAProtocolViolation() {
        try (PgTestClient c = new PgTestClient("127.0.0.1", proxy.port())) {
            c.sendRaw("GET / HTTP/1.1\r\nHost: proxy\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            BackendMessage.ErrorResponse e = c.expectError();
            assertThat(e.fields().get('C')).isEqualTo("08P01");
            assertThat(e.fields().get('M')).contains("invalid startup packet length");
            assertThat(c.awaitClosed()).isTrue();
        }
        anotherClientStillWorks(proxy);
    }

    @Test
    void oversizedStartupPacketIsRefusedWithTheLimit() {
        try (PgTestClient c = new PgTestClient("127.0.0.1", proxy.port())) {
            c.sendRaw(new byte[]{0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 3, 0, 0});
            assertThat(c.expectError().fields().get('M')).contains("maxStartupPacketLength=10000");
            assertThat(c.awaitClosed()).isTrue();
        }
        anotherClientStillWorks(proxy);
    }

    @Test
    void slowClientThatNeverFinishesItsPacketIsTimedOut() {
        try (PgTestClient c = new PgTestClient("127.0.0.1", proxy.port())) {
            c.sendRaw(new byte[]{0, 0, 0, 60, 0, 3, 0, 0, 'u', 's'});
            long t0 = System.nanoTime();
            assertThat(c.expectError().fields().get('M')).isEqualTo("startup packet not received within 1000 ms");
            assertThat(c.awaitClosed()).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        }
        anotherClientStillWorks(proxy);
    }

    @Test
    void truncatedPacketAndHangUpLeaveNothingBehind() throws Exception {
        int before = proxy.openConnections();
        for (int i = 0; i < 20; i++) {
            try (Socket s = new Socket("127.0.0.1", proxy.port())) {
                s.getOutputStream().write(new byte[]{0, 0, 0, 80, 0, 3, 0, 0, 'u'});
                s.getOutputStream().flush();
            }
        }
        await("connections released", () -> proxy.openConnections() <= before);
        anotherClientStillWorks(proxy);
    }

    @Test
    void sslRequestTwiceIsRefused() {
        try (PgTestClient c = new PgTestClient("127.0.0.1", proxy.port())) {
            c.send(FrontendMessage.SSLRequest.INSTANCE);
            assertThat(c.expect(BackendMessage.EncryptionResponse.class).accepted()).isFalse();
            c.send(FrontendMessage.SSLRequest.INSTANCE);
            // the client decoder expects a one-byte answer again; the 'E' comes as an ErrorResponse
            assertThat(c.expectError().fields().get('M')).isEqualTo("SSLRequest received twice");
            assertThat(c.awaitClosed()).isTrue();
        }
        anotherClientStillWorks(proxy);
    }

    @Test
    void gssEncryptionRequestIsAnsweredNAndTheSessionThenWorks() {
        try (PgTestClient c = new PgTestClient("127.0.0.1", proxy.port())) {
            c.send(FrontendMessage.GSSENCRequest.INSTANCE);
            assertThat(c.expect(BackendMessage.EncryptionResponse.class).accepted()).isFalse();
            c.login(params("ok"), control.compute("ok").server.password());
            assertThat(c.query("select 1")).last().isInstanceOf(BackendMessage.ReadyForQuery.class);
        }
    }

    @Test
    void garbageAfterTheStartupPacketReachesTheComputeWhichRefusesIt() {
        try (PgTestClient c = new PgTestClient("127.0.0.1", proxy.port())) {
            byte[] startup = encode(FrontendMessage.StartupMessage.of(params("ok")));
            byte[] junk = "\u00ff\u00ff garbage garbage".getBytes(StandardCharsets.ISO_8859_1);
            byte[] both = new byte[startup.length + junk.length];
            System.arraycopy(startup, 0, both, 0, startup.length);
            System.arraycopy(junk, 0, both, startup.length, junk.length);
            c.sendRaw(both);
            BackendMessage m = c.next();
            if (m instanceof BackendMessage.Authentication) {
                m = c.next(); // the compute asked for a password first, then read the junk
            }
            assertThat(m).isInstanceOf(BackendMessage.ErrorResponse.class);
            assertThat(((BackendMessage.ErrorResponse) m).fields().get('C')).isEqualTo("08P01");
            assertThat(c.awaitClosed()).isTrue();
        }
        anotherClientStillWorks(proxy);
    }

    @Test
    void sslRequestInsideTlsIsRefused() throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(tlsProxy.certificates().caCertificate())) {
            trust.setCertificateEntry("ca", cf.generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress("127.0.0.1", tlsProxy.port()), 5000);
            raw.setSoTimeout(10_000);
            raw.getOutputStream().write(encode(FrontendMessage.SSLRequest.INSTANCE));
            assertThat(raw.getInputStream().read()).isEqualTo('S');
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, "ok.localhost", tlsProxy.port(), true)) {
                SSLParameters p = s.getSSLParameters();
                p.setServerNames(List.of(new SNIHostName("ok.localhost")));
                p.setEndpointIdentificationAlgorithm("HTTPS"); // verify the name against the certificate
                s.setSSLParameters(p);
                s.startHandshake();
                OutputStream out = s.getOutputStream();
                out.write(encode(FrontendMessage.SSLRequest.INSTANCE));
                out.flush();
                DataInputStream in = new DataInputStream(s.getInputStream());
                assertThat(in.readByte()).isEqualTo((byte) 'E');
                byte[] body = new byte[in.readInt() - 4];
                in.readFully(body);
                assertThat(new String(body, StandardCharsets.UTF_8)).contains("08P01").contains("SSLRequest received twice");
                assertThat(in.read()).isEqualTo(-1);
            }
        }
    }

    /** Reads one backend message from a raw socket: its type, then its body. */
    private static byte readMessage(DataInputStream in, ByteArrayOutputStream body) throws IOException {
        byte type = in.readByte();
        byte[] b = new byte[in.readInt() - 4];
        in.readFully(b);
        body.reset();
        body.writeBytes(b);
        return type;
    }

    @Test
    void aClientThatStopsReadingDoesNotMakeTheProxyBufferTheResult() throws Exception {
        ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(64 * 1024);
            s.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            out.write(encode(FrontendMessage.StartupMessage.of(params("cleartext"))));
            assertThat(readMessage(in, body)).isEqualTo((byte) 'R'); // AuthenticationCleartextPassword
            out.write(encode(new FrontendMessage.PasswordMessage(control.compute("cleartext").server.password())));
            while (readMessage(in, body) != 'Z') {
                // AuthenticationOk, ParameterStatus, BackendKeyData
            }
            long before = metric.usedDirectMemory() + metric.usedHeapMemory();
            // about 200 MB of result that this client never reads
            out.write(encode(new FrontendMessage.Query("select repeat('x', 1000) from generate_series(1, 200000)")));
            long peak = 0;
            for (int i = 0; i < 30; i++) {
                Thread.sleep(100);
                peak = Math.max(peak, metric.usedDirectMemory() + metric.usedHeapMemory());
            }
            assertThat(peak - before).as("bytes the proxy holds for a client that does not read")
                    .isLessThan(16L * 1024 * 1024);
            // the relay is alive, not stuck: the client can still read its data
            assertThat(readMessage(in, body)).isEqualTo((byte) 'T');
            assertThat(readMessage(in, body)).isEqualTo((byte) 'D');
        }
        anotherClientStillWorks(proxy);
    }

    @Test
    void plaintextAfterTheProxyAgreedToTlsIsClosedWithoutAnswer() throws Exception {
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress("127.0.0.1", tlsProxy.port()), 5000);
            raw.setSoTimeout(10_000);
            raw.getOutputStream().write(encode(FrontendMessage.SSLRequest.INSTANCE));
            assertThat(raw.getInputStream().read()).isEqualTo('S');
            raw.getOutputStream().write(encode(FrontendMessage.StartupMessage.of(params("ok"))));
            assertThat(raw.getInputStream().read()).as("closed, nothing sent in clear").isEqualTo(-1);
        }
        anotherClientStillWorks(proxy);
    }

    @Test
    void thousandsOfConnectionsHitTheLimitWithAClearErrorAndOthersRecover() throws Exception {
        // 2000, or fewer where the open-file limit is low: each connection costs this JVM two
        // descriptors (the test's socket and the proxy's channel).
        var os = (com.sun.management.UnixOperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        int limit = (int) Math.min(2000, (os.getMaxFileDescriptorCount() - os.getOpenFileDescriptorCount() - 300) / 2);
        assertThat(limit).as("open-file limit leaves room for a meaningful test").isGreaterThan(200);
        try (ProxyServer limited = ProxyServer.start(ProxyConfig.defaults().withPort(0).withMaxConnections(limit)
                .withStartupTimeout(Duration.ofSeconds(60)), control,
                new ClientLimits(limit, ClientLimits.DEFAULT_MAX_AUTHENTICATING))) { // the total cap, not eviction
            List<Socket> idle = new ArrayList<>();
            try {
                for (int i = 0; i < limit; i++) {
                    Socket s = new Socket();
                    idle.add(s);
                    s.connect(new InetSocketAddress("127.0.0.1", limited.port()), 5000);
                }
                await("all " + limit + " accepted", () -> limited.openConnections() == limit);
                try (PgTestClient c = new PgTestClient("127.0.0.1", limited.port())) {
                    c.sendUnchecked(FrontendMessage.StartupMessage.of(params("ok")));
                    BackendMessage.ErrorResponse e = c.expectError();
                    assertThat(e.fields().get('C')).isEqualTo("53300");
                    assertThat(e.fields().get('M')).isEqualTo("too many connections to the proxy (limit " + limit + ")");
                    assertThat(c.awaitClosed()).isTrue();
                }
            } finally {
                for (Socket s : idle) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // closing all matters more than one failure
                    }
                }
            }
            await("idle connections released", () -> limited.openConnections() == 0);
            anotherClientStillWorks(limited);
        }
    }

    /**
     * Hostile input: a thousand clients that connect and send nothing, or only the first byte of
     * a startup packet, used to take every one of the proxy's connections for the whole startup
     * timeout (and again right after). Now they only ever hold {@code maxStartupPending} slots, the
     * oldest evicted with 53300 when a new client arrives, and a real client gets its session.
     */
    @Test
    void aThousandSilentOrTricklingClientsDoNotLockOutARealOne() throws Exception {
        var os = (com.sun.management.UnixOperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        int slow = (int) Math.min(1000, (os.getMaxFileDescriptorCount() - os.getOpenFileDescriptorCount() - 300) / 2);
        assertThat(slow).as("open-file limit leaves room for a meaningful test").isGreaterThan(200);
        int pendingLimit = 50;
        try (ProxyServer p = ProxyServer.start(ProxyConfig.defaults().withPort(0).withMaxConnections(slow)
                .withStartupTimeout(Duration.ofSeconds(60)), control, new ClientLimits(pendingLimit, 200))) {
            List<Socket> sockets = new ArrayList<>();
            try {
                for (int i = 0; i < slow; i++) {
                    Socket s = new Socket();
                    sockets.add(s);
                    s.connect(new InetSocketAddress("127.0.0.1", p.port()), 5000);
                    if (i % 2 == 0) {
                        s.getOutputStream().write(0); // the first byte of a length, and nothing more
                    }
                }
                assertThat(p.startupPending()).isLessThanOrEqualTo(pendingLimit);
                await("evicted connections closed", () -> p.openConnections() <= pendingLimit);
                // The oldest were evicted with a clear error (read from a silent one: closing a
                // socket with the trickled byte unread may reset it and lose the answer).
                Socket first = sockets.get(1);
                first.setSoTimeout(20_000);
                byte[] answer = first.getInputStream().readAllBytes();
                assertThat(answer[0]).isEqualTo((byte) 'E');
                assertThat(new String(answer, StandardCharsets.UTF_8)).contains("53300")
                        .contains("waiting to send their startup packet");
                anotherClientStillWorks(p);
                assertThat(p.authenticating()).isZero();
            } finally {
                for (Socket s : sockets) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // closing all matters more than one failure
                    }
                }
            }
            await("all released", () -> p.openConnections() == 0 && p.startupPending() == 0);
        }
    }

    /** The startup deadline counts from the connect: a byte every 200 ms does not extend it. */
    @Test
    void aClientTricklingItsStartupPacketIsClosedAtTheDeadline() throws Exception {
        try (PgTestClient c = new PgTestClient("127.0.0.1", proxy.port())) {
            c.sendRaw(new byte[]{0, 0, 0, 60});
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (c.isOpen() && System.nanoTime() < deadline) {
                c.sendRaw(new byte[]{'x'});
                Thread.sleep(200);
            }
            assertThat(c.isOpen()).as("trickling for 10 s past a 1 s startup timeout").isFalse();
            assertThat(c.expectError().fields().get('M')).isEqualTo("startup packet not received within 1000 ms");
        }
        anotherClientStillWorks(proxy);
    }

    /**
     * Clients past their startup packet that do not finish authenticating (the compute waits for
     * their password) are bounded too: one more is refused with 53300 before a compute is touched.
     */
    @Test
    void clientsStuckAuthenticatingAreBounded() throws Exception {
        try (ProxyServer p = ProxyServer.start(ProxyConfig.defaults().withPort(0), control, new ClientLimits(100, 1))) {
            try (PgTestClient stuck = new PgTestClient("127.0.0.1", p.port())) {
                stuck.sendUnchecked(FrontendMessage.StartupMessage.of(params("ok")));
                assertThat(stuck.next()).isInstanceOf(BackendMessage.AuthenticationSASL.class); // and never answers
                assertThat(p.authenticating()).isEqualTo(1);
                try (PgTestClient refused = new PgTestClient("127.0.0.1", p.port())) {
                    refused.sendUnchecked(FrontendMessage.StartupMessage.of(params("ok")));
                    BackendMessage.ErrorResponse e = refused.expectError();
                    assertThat(e.fields().get('C')).isEqualTo("53300");
                    assertThat(e.fields().get('M')).contains("authenticating").contains("limit 1");
                    assertThat(refused.awaitClosed()).isTrue();
                }
            }
            await("the stuck client's slot released", () -> p.authenticating() == 0);
            anotherClientStillWorks(p);
            assertThat(p.authenticating()).as("an established session no longer counts").isZero();
        }
    }
}
