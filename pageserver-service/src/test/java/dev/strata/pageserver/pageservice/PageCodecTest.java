package dev.strata.pageserver.pageservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The page-service codec against invalid, too long, incomplete and garbage input, and round trips. */
class PageCodecTest {

    private static final TimelineId TL = TimelineId.parse("0123456789abcdef0123456789abcdef");
    private static final TimelineId BASE = TimelineId.parse("fedcba9876543210fedcba9876543210");

    @Test
    void everyRequestRoundTrips() {
        List<PageRequest> all = List.of(
                new PageRequest.GetPage(1, TL, Lsn.parse("1/2345678"), 5000, 1663, 5, 16384, 2, 77),
                new PageRequest.RelSize(2, TL, Lsn.INVALID, 1, 1663, 5, 16384, 0),
                new PageRequest.ListDatabases(3, TL, Lsn.parse("0/10"), 30_000),
                new PageRequest.ListRelations(4, TL, Lsn.parse("0/10"), 30_000, 1663, 5),
                new PageRequest.Basebackup(5, TL, Lsn.INVALID, 100),
                new PageRequest.WaitLsn(6, TL, Lsn.parse("0/3000000"), 600_000),
                new PageRequest.Basebackup(7, TL, Lsn.parse("0/4000028"), 100, new BasebackupBase(BASE, Lsn.parse("1/8"))));
        EmbeddedChannel ch = new EmbeddedChannel(new PageRequestDecoder());
        ByteBuf all2 = Unpooled.buffer();
        for (PageRequest r : all) {
            all2.writeBytes(PageCodec.encodeRequest(r));
        }
        // byte by byte: incomplete frames wait for the rest
        while (all2.isReadable()) {
            ch.writeInbound(all2.readRetainedSlice(1));
        }
        for (PageRequest r : all) {
            assertThat((Object) ch.readInbound()).isEqualTo(r);
        }
        assertThat((Object) ch.readInbound()).isNull();
    }

    @Test
    void authenticateCarriesATokenLongerThanOtherFramesMayBe() {
        String longest = "a".repeat(dev.strata.pgcore.auth.TokenVerifier.MAX_TOKEN_CHARS);
        List<ClientFrame> all = List.of(new ClientFrame.Authenticate(1, "eyJ.x.y"), new ClientFrame.Authenticate(2, longest),
                new PageRequest.WaitLsn(3, TL, Lsn.parse("0/1"), 1));
        EmbeddedChannel ch = new EmbeddedChannel(new PageRequestDecoder());
        ByteBuf bytes = Unpooled.buffer();
        for (ClientFrame f : all) {
            bytes.writeBytes(PageCodec.encode(f));
        }
        while (bytes.isReadable()) { // byte by byte: the type byte decides the bound only once it is there
            ch.writeInbound(bytes.readRetainedSlice(1));
        }
        for (ClientFrame f : all) {
            assertThat((Object) ch.readInbound()).isEqualTo(f);
        }
        assertThat(new ClientFrame.Authenticate(1, "secret-token").toString()).doesNotContain("secret");
    }

    @Test
    void tokensTooLongOrNotAsciiAreNotEncodedAndNotDecoded() {
        String tooLong = "a".repeat(dev.strata.pgcore.auth.TokenVerifier.MAX_TOKEN_CHARS + 1);
        for (String bad : new String[] {"", tooLong, "tokén"}) {
            assertThatThrownBy(() -> PageCodec.encode(new ClientFrame.Authenticate(1, bad)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        ByteBuf frame = Unpooled.buffer().writeInt(PageProtocol.MAX_AUTHENTICATE_FRAME + 1)
                .writeByte(PageProtocol.AUTHENTICATE).writeInt(1);
        assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder()).writeInbound(frame))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("outside");
        ByteBuf other = Unpooled.buffer().writeInt(PageProtocol.MAX_REQUEST_FRAME + 1).writeByte(PageProtocol.GET_PAGE);
        assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder()).writeInbound(other))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("only AUTHENTICATE");
    }

    @Test
    void basebackupBodyIsEmptyForAFullOneAndTheBaseForAnIncrementalOne() {
        PageRequest.Basebackup full = new PageRequest.Basebackup(1, TL, Lsn.parse("0/10"), 100);
        PageRequest.Basebackup over = new PageRequest.Basebackup(2, TL, Lsn.parse("0/10"), 100,
                new BasebackupBase(BASE, Lsn.parse("2/DEADBEE8")));
        byte[] fullFrame = PageCodec.encodeRequest(full);
        byte[] overFrame = PageCodec.encodeRequest(over);
        // An old client's request (no body) is a full basebackup, as before.
        assertThat(fullFrame).hasSize(4 + 33);
        assertThat(full.base()).isNull();
        assertThat(overFrame).hasSize(4 + 33 + PageProtocol.BASEBACKUP_BASE_BYTES);
        ByteBuffer body = ByteBuffer.wrap(overFrame, 4 + 33, PageProtocol.BASEBACKUP_BASE_BYTES);
        byte[] tl = new byte[16];
        body.get(tl);
        assertThat(TimelineId.of(tl)).isEqualTo(BASE);
        assertThat(body.getLong()).isEqualTo(Lsn.parse("2/DEADBEE8").value());
        assertThat(PageCodec.decodeRequest(ByteBuffer.wrap(fullFrame, 4, fullFrame.length - 4))).isEqualTo(full);
        assertThat(PageCodec.decodeRequest(ByteBuffer.wrap(overFrame, 4, overFrame.length - 4))).isEqualTo(over);
    }

    @Test
    void basebackupBaseWithLsnZeroOrABodyOfAnotherLengthIsRefused() {
        byte[] over = PageCodec.encodeRequest(new PageRequest.Basebackup(3, TL, Lsn.INVALID, 100,
                new BasebackupBase(BASE, Lsn.parse("0/8"))));
        byte[] zeroLsn = over.clone();
        ByteBuffer.wrap(zeroLsn).putLong(zeroLsn.length - 8, 0);
        assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder()).writeInbound(Unpooled.wrappedBuffer(zeroLsn)))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("request 3")
                .hasMessageContaining("LSN 0/0");
        for (int length : new int[] {1, 8, 16, 23, 25, 48}) {
            byte[] full = PageCodec.encodeRequest(new PageRequest.Basebackup(4, TL, Lsn.INVALID, 100));
            ByteBuffer frame = ByteBuffer.allocate(full.length + length).put(full).put(new byte[length]);
            frame.putInt(0, full.length - 4 + length);
            assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder())
                    .writeInbound(Unpooled.wrappedBuffer(frame.array())))
                    .as("a body of %d bytes", length)
                    .isInstanceOf(ProtocolException.class).hasMessageContaining("empty or a 24-byte body")
                    .hasMessageContaining("got " + length);
        }
    }

    @Test
    void waitZeroBecomesTheDefault() {
        EmbeddedChannel ch = new EmbeddedChannel(new PageRequestDecoder());
        ch.writeInbound(Unpooled.wrappedBuffer(PageCodec.encodeRequest(new PageRequest.WaitLsn(9, TL, Lsn.parse("0/1"), 0))));
        PageRequest r = ch.readInbound();
        assertThat(r.waitMillis()).isEqualTo(PageProtocol.DEFAULT_WAIT_MILLIS);
    }

    @Test
    void tooLongFrameIsRefusedNamingTheLimit() {
        EmbeddedChannel ch = new EmbeddedChannel(new PageRequestDecoder());
        ByteBuf b = Unpooled.buffer().writeInt(PageProtocol.MAX_REQUEST_FRAME + 1).writeZero(10);
        assertThatThrownBy(() -> ch.writeInbound(b)).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("length " + (PageProtocol.MAX_REQUEST_FRAME + 1)).hasMessageContaining("256");
        // everything after a broken frame is dropped, never decoded
        ch.writeInbound(Unpooled.wrappedBuffer(PageCodec.encodeRequest(new PageRequest.WaitLsn(1, TL, Lsn.parse("0/1"), 1))));
        assertThat((Object) ch.readInbound()).isNull();
    }

    @Test
    void zeroLengthAndHugeLengthsAreRefused() {
        for (int len : new int[] {0, -1, Integer.MAX_VALUE}) {
            EmbeddedChannel ch = new EmbeddedChannel(new PageRequestDecoder());
            assertThatThrownBy(() -> ch.writeInbound(Unpooled.buffer().writeInt(len))).isInstanceOf(ProtocolException.class)
                    .hasMessageContaining("outside 1..");
        }
    }

    @Test
    void unknownTypeAndWrongBodyLengthAreRefused() {
        byte[] frame = PageCodec.encodeRequest(new PageRequest.GetPage(7, TL, Lsn.parse("0/1"), 1, 1, 2, 3, 0, 4));
        byte[] unknown = frame.clone();
        unknown[4] = 0x42;
        assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder()).writeInbound(Unpooled.wrappedBuffer(unknown)))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("unknown request type 0x42");
        // a GetPage with its last byte cut off, length adjusted: the body is short
        ByteBuffer cut = ByteBuffer.allocate(frame.length - 1).put(frame, 0, frame.length - 1);
        cut.putInt(0, frame.length - 5);
        assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder()).writeInbound(Unpooled.wrappedBuffer(cut.array())))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("17-byte body").hasMessageContaining("got 16");
        byte[] badFork = frame.clone();
        badFork[frame.length - 5] = 9;
        assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder()).writeInbound(Unpooled.wrappedBuffer(badFork)))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("fork 9");
        byte[] badWait = frame.clone();
        ByteBuffer.wrap(badWait).putInt(4 + 1 + 4 + 16 + 8, PageProtocol.MAX_WAIT_MILLIS + 1);
        assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder()).writeInbound(Unpooled.wrappedBuffer(badWait)))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("above the limit");
    }

    @Test
    void shortFrameIsRefused() {
        ByteBuf b = Unpooled.buffer().writeInt(5).writeByte(PageProtocol.GET_PAGE).writeInt(1);
        assertThatThrownBy(() -> new EmbeddedChannel(new PageRequestDecoder()).writeInbound(b))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("shorter than");
    }

    @Test
    void randomGarbageNeverDecodesToAnythingButRequestsOrAProtocolError() {
        Random rnd = new Random(42);
        int refused = 0;
        for (int i = 0; i < 2000; i++) {
            byte[] junk = new byte[rnd.nextInt(80)];
            rnd.nextBytes(junk);
            if (junk.length >= 4 && rnd.nextBoolean()) {
                ByteBuffer.wrap(junk).putInt(0, junk.length - 4); // plausible length, junk body
            }
            EmbeddedChannel ch = new EmbeddedChannel(new PageRequestDecoder());
            try {
                ch.writeInbound(Unpooled.wrappedBuffer(junk));
                Object o;
                while ((o = ch.readInbound()) != null) {
                    assertThat(o).isInstanceOf(ClientFrame.class);
                }
            } catch (ProtocolException e) {
                refused++;
            }
        }
        assertThat(refused).isGreaterThan(1000);
    }

    @Test
    void responsesRoundTripThroughTheEncoder() {
        byte[] page = new byte[PageProtocol.PAGE_SIZE];
        page[100] = 7;
        List<PageResponse> all = List.of(
                new PageResponse.RelSize(1, Lsn.parse("0/5"), 12),
                new PageResponse.RelSize(2, Lsn.parse("0/5"), -1),
                new PageResponse.Databases(3, Lsn.parse("0/5"), List.of(new DbDirectory.Db(1663, 5))),
                new PageResponse.BasebackupEnd(4, Lsn.parse("0/50"), Lsn.parse("0/20")),
                new PageResponse.LsnReached(5, Lsn.parse("0/60")),
                new PageResponse.Authenticated(7),
                new PageResponse.Error(6, 5, "x".repeat(5000)));
        EmbeddedChannel ch = new EmbeddedChannel(new PageResponseEncoder());
        ch.writeOutbound(new PageResponse.Page(9, Lsn.parse("0/9"), page));
        for (PageResponse r : all) {
            ch.writeOutbound(r);
        }
        PageResponse.Page p = (PageResponse.Page) decodeOne(ch.readOutbound());
        assertThat(p.page()).isEqualTo(page);
        for (PageResponse r : all) {
            PageResponse back = decodeOne(ch.readOutbound());
            if (r instanceof PageResponse.Error e) {
                assertThat(((PageResponse.Error) back).message()).hasSize(PageProtocol.MAX_ERROR_MESSAGE);
                assertThat(((PageResponse.Error) back).code()).isEqualTo(e.code());
            } else {
                assertThat(back).isEqualTo(r);
            }
        }
    }

    @Test
    void truncatedResponseIsAProtocolError() {
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + 8 + 100).put((byte) PageProtocol.PAGE).putInt(1).putLong(5);
        b.flip();
        assertThatThrownBy(() -> PageCodec.decodeResponse(b.limit(113))).isInstanceOf(ProtocolException.class);
        ByteBuffer list = ByteBuffer.allocate(1 + 4 + 8 + 4).put((byte) PageProtocol.DATABASES).putInt(1).putLong(5)
                .putInt(1_000_000);
        list.flip();
        assertThatThrownBy(() -> PageCodec.decodeResponse(list)).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("1000000 entries");
    }

    private static PageResponse decodeOne(ByteBuf b) {
        int len = b.readInt();
        assertThat(len).isEqualTo(b.readableBytes());
        byte[] frame = new byte[len];
        b.readBytes(frame);
        b.release();
        return PageCodec.decodeResponse(ByteBuffer.wrap(frame));
    }
}
