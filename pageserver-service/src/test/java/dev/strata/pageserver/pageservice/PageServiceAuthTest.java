package dev.strata.pageserver.pageservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.testing.TestAuth;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page service refuses whoever does not open with a good AUTHENTICATE, and a compute's
 * token reads its own timeline only. A real pageserver on loopback with two timelines imported
 * from initdb (their {@code pg_authid} holds a SCRAM verifier: what an unauthenticated reader
 * must never get); refusals are checked on the raw wire (exactly one error frame, then the
 * connection closes, and no page or tar byte before it) and through {@link PageserverClient}.
 * After every test a correctly authenticated client still reads: one hostile connection never
 * takes the server down.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PageServiceAuthTest {

    private static final int PG_AUTHID = 1260;
    private static final String PASSWORD = "page-service-auth-test-pw";
    private static final TestAuth AUTH = TestPageservers.AUTH;

    @TempDir
    static Path dir;
    static PageserverServer ps;
    static TimelineId a = TimelineId.random();
    static TimelineId b = TimelineId.random();

    @BeforeAll
    static void start() {
        ps = PageserverServer.start(TestPageservers.config(dir));
        for (TimelineId t : List.of(a, b)) {
            ps.node().timelines().create(new TimelineManager.CreateRequest(t, null, true, false, List.of(), PASSWORD));
        }
    }

    @AfterAll
    static void stop() {
        if (ps != null) {
            ps.close();
        }
    }

    @AfterEach
    void stillServesAnAuthenticatedClient() {
        try (PageserverClient c = TestPageservers.client(ps)) {
            assertThat(authidPage(c, a)).contains("SCRAM-SHA-256$");
        }
    }

    // ---- no AUTHENTICATE ----------------------------------------------------------------

    @Test
    void getPageWithoutAuthenticateIsRefusedAndNoPageIsSent() throws Exception {
        Wire w = exchange(getPage(1, a));
        w.assertRefused(0, TimelineException.Kind.UNAUTHENTICATED, "AUTHENTICATE");
        assertThat(new String(w.raw, StandardCharsets.ISO_8859_1)).doesNotContain("SCRAM");
    }

    @Test
    void basebackupAndEveryOtherRequestWithoutAuthenticateAreRefused() throws Exception {
        List<PageRequest> all = List.of(
                new PageRequest.Basebackup(1, a, Lsn.INVALID, 1000),
                new PageRequest.RelSize(1, a, Lsn.INVALID, 1000, InitdbImport.GLOBAL_TABLESPACE, 0, PG_AUTHID, 0),
                new PageRequest.ListDatabases(1, a, Lsn.INVALID, 1000),
                new PageRequest.ListRelations(1, a, Lsn.INVALID, 1000, InitdbImport.GLOBAL_TABLESPACE, 0),
                new PageRequest.WaitLsn(1, a, Lsn.parse("0/1"), 1000));
        for (PageRequest r : all) {
            Wire w = exchange(PageCodec.encodeRequest(r));
            w.assertRefused(0, TimelineException.Kind.UNAUTHENTICATED, "AUTHENTICATE");
        }
    }

    @Test
    void requestsPipelinedBehindARefusedTokenAreNeverAnswered() throws Exception {
        String forged = AUTH.stranger().token(Scope.PAGESERVER_API);
        Wire w = exchange(authenticate(1, forged), getPage(2, a), PageCodec.encodeRequest(
                new PageRequest.Basebackup(3, a, Lsn.INVALID, 1000)));
        w.assertRefused(1, TimelineException.Kind.UNAUTHENTICATED, "signature");
        assertThat(new String(w.raw, StandardCharsets.ISO_8859_1)).doesNotContain("SCRAM");
    }

    // ---- bad tokens ----------------------------------------------------------------------

    @Test
    void forgedExpiredMalformedAndUnsignedTokensAreRefused() throws Exception {
        Instant hourAgo = Instant.now().minus(Duration.ofHours(1));
        String expired = new TokenIssuer(AUTH.key()).issue(Claims.service(Scope.PAGESERVER_API, "old",
                Optional.of(hourAgo)));
        String forged = AUTH.stranger().token(Scope.PAGESERVER_API);
        String forgedCompute = AUTH.stranger().computeToken(a);
        String b64 = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes());
        String claims = Base64.getUrlEncoder().withoutPadding().encodeToString(
                "{\"scope\":\"pageserverapi\",\"sub\":\"x\"}".getBytes());
        String algNone = b64 + "." + claims + ".";
        String good = AUTH.token(Scope.PAGESERVER_API);
        String tampered = good.substring(0, good.lastIndexOf('.') + 1) + "A".repeat(86);
        for (String[] c : new String[][] {{expired, "expired"}, {forged, "signature"}, {forgedCompute, "signature"},
            {algNone, ""}, {"not-a-token", "JSON Web Token"}, {tampered, "signature"},
            {"x".repeat(4096), "JSON Web Token"}}) {
            Wire w = exchange(authenticate(7, c[0]), getPage(8, a));
            w.assertRefused(7, TimelineException.Kind.UNAUTHENTICATED, c[1]);
            assertThatThrownBy(() -> new PageserverClient("127.0.0.1", ps.pageServicePort(), c[0]))
                    .isInstanceOfSatisfying(TimelineException.class,
                            e -> assertThat(e.kind()).isEqualTo(TimelineException.Kind.UNAUTHENTICATED));
        }
    }

    @Test
    void tokensOfOtherScopesAreForbidden() throws Exception {
        for (Scope s : List.of(Scope.SAFEKEEPER_DATA, Scope.ADMIN)) {
            Wire w = exchange(authenticate(3, AUTH.token(s)), getPage(4, a));
            w.assertRefused(3, TimelineException.Kind.FORBIDDEN, s.wireName());
            assertThatThrownBy(() -> new PageserverClient("127.0.0.1", ps.pageServicePort(), AUTH.token(s)))
                    .isInstanceOfSatisfying(TimelineException.class,
                            e -> assertThat(e.kind()).isEqualTo(TimelineException.Kind.FORBIDDEN));
        }
    }

    /** Checked at AUTHENTICATE and again at each request: an open connection does not outlive its token. */
    @Test
    void aConnectionIsRefusedOnceItsTokenExpires() throws Exception {
        // Within the verifier's 30 s clock skew for about 5 s more: accepted now, expired soon.
        Instant exp = Instant.now().minusSeconds(25);
        String soon = new TokenIssuer(AUTH.key()).issue(Claims.service(Scope.PAGESERVER_API, "short", Optional.of(exp)));
        try (PageserverClient c = new PageserverClient("127.0.0.1", ps.pageServicePort(), soon)) {
            assertThat(authidPage(c, a)).contains("SCRAM-SHA-256$");
            Instant after = exp.plus(PageServiceHandler.EXPIRY_SKEW).plusSeconds(1);
            while (Instant.now().isBefore(after)) {
                Thread.sleep(200);
            }
            assertThatThrownBy(() -> authidPage(c, a)).hasMessageContaining("expired");
        }
    }

    // ---- compute tokens ------------------------------------------------------------------

    @Test
    void aComputeTokenReadsItsTimelineAndNotAnother() throws Exception {
        try (PageserverClient c = new PageserverClient("127.0.0.1", ps.pageServicePort(), AUTH.computeToken(a))) {
            assertThat(authidPage(c, a)).contains("SCRAM-SHA-256$");
            for (ThrowingCall call : List.<ThrowingCall>of(
                    () -> authidPage(c, b),
                    () -> c.relationSize(b, Lsn.INVALID, InitdbImport.GLOBAL_TABLESPACE, 0, PG_AUTHID, 0),
                    () -> c.listDatabases(b, Lsn.INVALID),
                    () -> c.listRelations(b, Lsn.INVALID, InitdbImport.GLOBAL_TABLESPACE, 0),
                    () -> c.waitForLsn(b, Lsn.parse("0/1"), Duration.ofSeconds(1)),
                    () -> c.basebackup(b, Lsn.INVALID, OutputStream.nullOutputStream()),
                    // a timeline that does not exist: forbidden too, so a compute learns nothing of others
                    () -> c.listDatabases(TimelineId.random(), Lsn.INVALID))) {
                assertThatThrownBy(call::run).isInstanceOfSatisfying(TimelineException.class, e -> {
                    assertThat(e.kind()).isEqualTo(TimelineException.Kind.FORBIDDEN);
                    assertThat(e.getMessage()).contains("this token is for timeline " + a);
                });
            }
            // the connection lives on, and its own basebackup streams
            ByteArrayOutputStream tar = new ByteArrayOutputStream();
            PageResponse.BasebackupEnd end = c.basebackup(a, Lsn.INVALID, tar);
            assertThat(end.lsn().isValid()).isTrue();
            assertThat(tar.size()).isGreaterThan(1 << 20);
        }
        // and the one of b reads b
        try (PageserverClient c = new PageserverClient("127.0.0.1", ps.pageServicePort(), AUTH.computeToken(b))) {
            assertThat(authidPage(c, b)).contains("SCRAM-SHA-256$");
            assertThatThrownBy(() -> authidPage(c, a)).isInstanceOf(TimelineException.class)
                    .hasMessageContaining("not " + a);
        }
    }

    @Test
    void thePageserverTokenReadsEveryTimeline() {
        try (PageserverClient c = TestPageservers.client(ps)) {
            assertThat(authidPage(c, a)).contains("SCRAM-SHA-256$");
            assertThat(authidPage(c, b)).contains("SCRAM-SHA-256$");
        }
    }

    @Test
    void aSecondAuthenticateIsAProtocolError() throws Exception {
        String good = AUTH.token(Scope.PAGESERVER_API);
        Wire w = exchange(authenticate(1, good), authenticate(2, good), getPage(3, a));
        assertThat(w.frames).hasSize(2);
        assertThat(w.frames.get(0)).isEqualTo(new PageResponse.Authenticated(1));
        assertThat(w.frames.get(1)).isInstanceOfSatisfying(PageResponse.Error.class, e -> {
            assertThat(e.requestId()).isEqualTo(2);
            assertThat(e.message()).contains("authenticated already");
        });
        assertThat(w.closed).isTrue();
    }

    // ---- hostile AUTHENTICATE frames ------------------------------------------------------

    @Test
    void hostileAuthenticateFramesGetAnErrorAndTheServerServesOthers() throws Exception {
        // an AUTHENTICATE longer than any token: refused from its length alone, nothing buffered
        exchange(ByteBuffer.allocate(9).putInt(PageProtocol.MAX_AUTHENTICATE_FRAME + 1)
                .put((byte) PageProtocol.AUTHENTICATE).putInt(1).array())
                .assertRefused(0, TimelineException.Kind.BAD_REQUEST, "outside");
        exchange(ByteBuffer.allocate(9).putInt(-1).put((byte) PageProtocol.AUTHENTICATE).putInt(1).array())
                .assertRefused(0, TimelineException.Kind.BAD_REQUEST, "outside");
        // a long frame of another type: only AUTHENTICATE may exceed 256 bytes
        exchange(ByteBuffer.allocate(9).putInt(1000).put((byte) PageProtocol.GET_PAGE).putInt(1).array())
                .assertRefused(0, TimelineException.Kind.BAD_REQUEST, "only AUTHENTICATE");
        // empty token
        exchange(ByteBuffer.allocate(9).putInt(5).put((byte) PageProtocol.AUTHENTICATE).putInt(4).array())
                .assertRefused(4, TimelineException.Kind.UNAUTHENTICATED, "no token");
        // binary junk of every length class, with and without dots
        Random rnd = new Random(12);
        for (int len : new int[] {1, 3, 255, 300, 600, 4096}) {
            byte[] junk = new byte[len];
            rnd.nextBytes(junk);
            if (len > 10) {
                junk[len / 3] = '.';
                junk[2 * len / 3] = '.';
            }
            byte[] frame = ByteBuffer.allocate(9 + len).putInt(5 + len).put((byte) PageProtocol.AUTHENTICATE).putInt(5)
                    .put(junk).array();
            exchange(frame).assertRefused(5, TimelineException.Kind.UNAUTHENTICATED, "");
        }
        // a frame that never completes, left open while another client is served (the @AfterEach)
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", ps.pageServicePort()), 5000);
            s.getOutputStream().write(ByteBuffer.allocate(21).putInt(3000).put((byte) PageProtocol.AUTHENTICATE).putInt(1)
                    .putLong(0).putInt(0).array());
            try (PageserverClient c = TestPageservers.client(ps)) {
                assertThat(authidPage(c, b)).contains("SCRAM-SHA-256$");
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------

    interface ThrowingCall {
        void run() throws Exception;
    }

    private static String authidPage(PageserverClient c, TimelineId t) {
        byte[] page = c.getPage(t, Lsn.INVALID, InitdbImport.GLOBAL_TABLESPACE, 0, PG_AUTHID, 0, 0);
        return new String(page, StandardCharsets.ISO_8859_1);
    }

    private static byte[] getPage(int id, TimelineId t) {
        return PageCodec.encodeRequest(new PageRequest.GetPage(id, t, Lsn.INVALID, 1000,
                InitdbImport.GLOBAL_TABLESPACE, 0, PG_AUTHID, 0, 0));
    }

    /** An AUTHENTICATE frame written by hand (the codec refuses to encode some of the tokens tests send). */
    private static byte[] authenticate(int id, String token) {
        byte[] t = token.getBytes(StandardCharsets.ISO_8859_1);
        return ByteBuffer.allocate(9 + t.length).putInt(5 + t.length).put((byte) PageProtocol.AUTHENTICATE).putInt(id)
                .put(t).array();
    }

    /** What came back on one connection: every frame until the server closed it (or 30 s passed). */
    record Wire(List<PageResponse> frames, byte[] raw, boolean closed) {

        /** Exactly one frame, an error with this request id and kind mentioning {@code text}, then the close. */
        void assertRefused(int requestId, TimelineException.Kind kind, String text) {
            assertThat(frames).as("answers: %s", frames).hasSize(1);
            assertThat(frames.get(0)).isInstanceOfSatisfying(PageResponse.Error.class, e -> {
                assertThat(e.requestId()).isEqualTo(requestId);
                assertThat(TimelineException.Kind.ofCode(e.code())).as(e.message()).isEqualTo(kind);
                assertThat(e.message()).contains(text);
            });
            assertThat(closed).as("the server closed the connection").isTrue();
        }
    }

    /** Writes the frames at once on a new connection, then reads until the server closes it. */
    private static Wire exchange(byte[]... frames) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", ps.pageServicePort()), 5000);
            s.setSoTimeout(30_000);
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (byte[] f : frames) {
                all.write(f);
            }
            try {
                s.getOutputStream().write(all.toByteArray());
            } catch (SocketException e) {
                // the server may close before taking everything: what it answered is still there to read
            }
            DataInputStream in = new DataInputStream(s.getInputStream());
            List<PageResponse> got = new ArrayList<>();
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            boolean closed = false;
            try {
                while (true) {
                    int len = in.readInt();
                    byte[] f = new byte[len];
                    in.readFully(f);
                    raw.write(f);
                    got.add(PageCodec.decodeResponse(ByteBuffer.wrap(f)));
                }
            } catch (EOFException | SocketException e) {
                closed = true; // EOF, or a reset because we wrote what it no longer read
            }
            return new Wire(got, raw.toByteArray(), closed);
        }
    }
}
