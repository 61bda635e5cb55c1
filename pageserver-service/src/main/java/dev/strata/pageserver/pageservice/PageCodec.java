package dev.strata.pageserver.pageservice;

import static dev.strata.pageserver.pageservice.PageProtocol.*;

import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import io.netty.buffer.ByteBuf;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes page-service frames (layouts in docs/pageserver.md). Shared by the Netty
 * codec of the server and by the blocking client. A frame that does not parse exactly is a
 * {@link ProtocolException} naming what was wrong.
 */
public final class PageCodec {

    private PageCodec() {
    }

    // ---- requests -------------------------------------------------------------------------

    /** The whole frame of any client frame, length prefix included. */
    public static byte[] encode(ClientFrame f) {
        return switch (f) {
            case ClientFrame.Authenticate a -> encodeAuthenticate(a);
            case PageRequest r -> encodeRequest(r);
        };
    }

    /**
     * The whole AUTHENTICATE frame. The token must be 1..{@link TokenVerifier#MAX_TOKEN_CHARS}
     * ASCII characters (a compact JWS is base64url and dots), one byte each on the wire.
     */
    public static byte[] encodeAuthenticate(ClientFrame.Authenticate a) {
        String token = a.token();
        if (token == null || token.isEmpty() || token.length() > TokenVerifier.MAX_TOKEN_CHARS
                || !StandardCharsets.US_ASCII.newEncoder().canEncode(token)) {
            throw new IllegalArgumentException("a page service token is 1.." + TokenVerifier.MAX_TOKEN_CHARS
                    + " ASCII characters");
        }
        byte[] t = token.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(4 + 1 + 4 + t.length).putInt(1 + 4 + t.length).put((byte) AUTHENTICATE)
                .putInt(a.requestId()).put(t).array();
    }

    /** The whole frame, length prefix included. */
    public static byte[] encodeRequest(PageRequest r) {
        int extra = switch (r) {
            case PageRequest.GetPage g -> 17;
            case PageRequest.RelSize s -> 13;
            case PageRequest.ListRelations l -> 8;
            case PageRequest.ListDatabases l -> 0;
            case PageRequest.Basebackup b -> b.base() == null ? 0 : BASEBACKUP_BASE_BYTES;
            case PageRequest.WaitLsn w -> 0;
        };
        int type = switch (r) {
            case PageRequest.GetPage g -> GET_PAGE;
            case PageRequest.RelSize s -> REL_SIZE;
            case PageRequest.ListRelations l -> LIST_RELATIONS;
            case PageRequest.ListDatabases l -> LIST_DATABASES;
            case PageRequest.Basebackup b -> BASEBACKUP;
            case PageRequest.WaitLsn w -> WAIT_LSN;
        };
        ByteBuffer b = ByteBuffer.allocate(4 + COMMON_REQUEST_BYTES + extra);
        b.putInt(COMMON_REQUEST_BYTES + extra).put((byte) type).putInt(r.requestId()).put(r.timeline().toBytes())
                .putLong(r.lsn().value()).putInt(r.waitMillis());
        switch (r) {
            case PageRequest.GetPage g -> b.putInt(g.spcOid()).putInt(g.dbOid()).putInt(g.relNumber())
                    .put((byte) g.fork()).putInt(g.blockNo());
            case PageRequest.RelSize s -> b.putInt(s.spcOid()).putInt(s.dbOid()).putInt(s.relNumber()).put((byte) s.fork());
            case PageRequest.ListRelations l -> b.putInt(l.spcOid()).putInt(l.dbOid());
            case PageRequest.ListDatabases l -> {
            }
            case PageRequest.Basebackup x -> {
                if (x.base() != null) {
                    b.put(x.base().timeline().toBytes()).putLong(x.base().lsn().value());
                }
            }
            case PageRequest.WaitLsn w -> {
            }
        }
        return b.array();
    }

    /**
     * Decodes one client frame: {@code frame} holds type, request id and body (no length).
     * Whether an AUTHENTICATE is where it belongs (first) is the handler's business, as is
     * whether its token is any good: the codec only bounds and carries it.
     */
    public static ClientFrame decodeRequest(ByteBuffer frame) {
        int length = frame.remaining();
        if (length >= 5 && (frame.get(frame.position()) & 0xFF) == AUTHENTICATE) {
            frame.get();
            int id = frame.getInt();
            if (frame.remaining() > TokenVerifier.MAX_TOKEN_CHARS) {
                throw new ProtocolException("request " + id + ": a token of " + frame.remaining()
                        + " bytes is longer than " + TokenVerifier.MAX_TOKEN_CHARS);
            }
            byte[] token = new byte[frame.remaining()];
            frame.get(token);
            // ISO-8859-1 maps each byte to one char: junk stays junk (and as long) for the verifier to refuse.
            return new ClientFrame.Authenticate(id, new String(token, StandardCharsets.ISO_8859_1));
        }
        if (length < COMMON_REQUEST_BYTES) {
            throw new ProtocolException("request frame of " + length + " bytes is shorter than the "
                    + COMMON_REQUEST_BYTES + "-byte common header");
        }
        int type = frame.get() & 0xFF;
        int id = frame.getInt();
        byte[] tl = new byte[16];
        frame.get(tl);
        TimelineId timeline = TimelineId.of(tl);
        Lsn lsn = new Lsn(frame.getLong());
        int wait = frame.getInt();
        if (wait < 0 || wait > MAX_WAIT_MILLIS) {
            throw new ProtocolException("request " + id + ": wait of " + Integer.toUnsignedString(wait)
                    + " ms is above the limit of " + MAX_WAIT_MILLIS + " ms");
        }
        int waitMillis = wait == 0 ? DEFAULT_WAIT_MILLIS : wait;
        int expected = switch (type) {
            case GET_PAGE -> 17;
            case REL_SIZE -> 13;
            case LIST_RELATIONS -> 8;
            case LIST_DATABASES, WAIT_LSN -> 0;
            // Empty: a full basebackup (what clients before incremental basebackups send); else a base.
            case BASEBACKUP -> frame.remaining() == BASEBACKUP_BASE_BYTES ? BASEBACKUP_BASE_BYTES : 0;
            default -> throw new ProtocolException(String.format("request %d: unknown request type 0x%02X", id, type));
        };
        if (frame.remaining() != expected) {
            if (type == BASEBACKUP) {
                throw new ProtocolException(String.format("request %d: type 0x%02X needs an empty or a %d-byte body"
                        + " (base timeline, base LSN) after the header, got %d", id, type, BASEBACKUP_BASE_BYTES,
                        frame.remaining()));
            }
            throw new ProtocolException(String.format("request %d: type 0x%02X needs a %d-byte body after the header, got %d",
                    id, type, expected, frame.remaining()));
        }
        return switch (type) {
            case GET_PAGE -> new PageRequest.GetPage(id, timeline, lsn, waitMillis, frame.getInt(), frame.getInt(),
                    frame.getInt(), fork(id, frame.get()), frame.getInt());
            case REL_SIZE -> new PageRequest.RelSize(id, timeline, lsn, waitMillis, frame.getInt(), frame.getInt(),
                    frame.getInt(), fork(id, frame.get()));
            case LIST_RELATIONS -> new PageRequest.ListRelations(id, timeline, lsn, waitMillis, frame.getInt(), frame.getInt());
            case LIST_DATABASES -> new PageRequest.ListDatabases(id, timeline, lsn, waitMillis);
            case BASEBACKUP -> new PageRequest.Basebackup(id, timeline, lsn, waitMillis, base(id, frame));
            default -> new PageRequest.WaitLsn(id, timeline, lsn, waitMillis);
        };
    }

    /** The base of a basebackup request, if its body has one: a timeline id and a valid LSN. */
    private static BasebackupBase base(int id, ByteBuffer frame) {
        if (!frame.hasRemaining()) {
            return null;
        }
        byte[] tl = new byte[16];
        frame.get(tl);
        Lsn lsn = new Lsn(frame.getLong());
        if (!lsn.isValid()) {
            throw new ProtocolException("request " + id + ": basebackup base " + TimelineId.of(tl) + " has LSN 0/0, not"
                    + " a valid LSN");
        }
        return new BasebackupBase(TimelineId.of(tl), lsn);
    }

    private static int fork(int id, byte b) {
        int f = b & 0xFF;
        if (f > 3) {
            throw new ProtocolException("request " + id + ": fork " + f + " is not 0..3 (main, fsm, vm, init)");
        }
        return f;
    }

    // ---- responses ------------------------------------------------------------------------

    public static void encodeResponse(PageResponse r, ByteBuf out) {
        int start = out.writerIndex();
        out.writeInt(0); // length, patched below
        switch (r) {
            case PageResponse.Page p -> {
                out.writeByte(PAGE).writeInt(p.requestId()).writeLong(p.lsn().value());
                out.writeBytes(p.page());
            }
            case PageResponse.RelSize s -> out.writeByte(REL_SIZE_RESULT).writeInt(s.requestId()).writeLong(s.lsn().value())
                    .writeByte(s.blocks() < 0 ? 0 : 1).writeInt(s.blocks() < 0 ? 0 : (int) s.blocks());
            case PageResponse.Databases d -> {
                out.writeByte(DATABASES).writeInt(d.requestId()).writeLong(d.lsn().value()).writeInt(d.databases().size());
                for (DbDirectory.Db db : d.databases()) {
                    out.writeInt(db.spcOid()).writeInt(db.dbOid());
                }
            }
            case PageResponse.Relations rels -> {
                out.writeByte(RELATIONS).writeInt(rels.requestId()).writeLong(rels.lsn().value())
                        .writeInt(rels.relations().size());
                for (RelDirectory.RelFork f : rels.relations()) {
                    out.writeInt(f.relNumber()).writeByte(f.fork());
                }
            }
            case PageResponse.BasebackupChunk c -> out.writeByte(BASEBACKUP_CHUNK).writeInt(c.requestId()).writeBytes(c.bytes());
            case PageResponse.BasebackupEnd e -> out.writeByte(BASEBACKUP_END).writeInt(e.requestId())
                    .writeLong(e.lsn().value()).writeLong(e.prev().value());
            case PageResponse.LsnReached l -> out.writeByte(LSN_REACHED).writeInt(l.requestId())
                    .writeLong(l.lastRecordLsn().value());
            case PageResponse.Authenticated a -> out.writeByte(AUTHENTICATED).writeInt(a.requestId());
            case PageResponse.Error e -> {
                byte[] msg = truncatedUtf8(e.message());
                out.writeByte(ERROR).writeInt(e.requestId()).writeShort(e.code()).writeShort(msg.length).writeBytes(msg);
            }
        }
        out.setInt(start, out.writerIndex() - start - 4);
    }

    static byte[] truncatedUtf8(String s) {
        byte[] b = (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
        if (b.length <= MAX_ERROR_MESSAGE) {
            return b;
        }
        int n = MAX_ERROR_MESSAGE;
        while (n > 0 && (b[n] & 0xC0) == 0x80) { // do not cut a character in two
            n--;
        }
        return java.util.Arrays.copyOf(b, n);
    }

    /** Decodes one response frame: type, request id and body (no length). */
    public static PageResponse decodeResponse(ByteBuffer f) {
        try {
            int type = f.get() & 0xFF;
            int id = f.getInt();
            PageResponse r = switch (type) {
                case PAGE -> {
                    Lsn lsn = new Lsn(f.getLong());
                    if (f.remaining() != PAGE_SIZE) {
                        throw new ProtocolException("page response " + id + " has " + f.remaining() + " page bytes, not " + PAGE_SIZE);
                    }
                    byte[] page = new byte[PAGE_SIZE];
                    f.get(page);
                    yield new PageResponse.Page(id, lsn, page);
                }
                case REL_SIZE_RESULT -> {
                    Lsn lsn = new Lsn(f.getLong());
                    boolean exists = f.get() != 0;
                    long blocks = Integer.toUnsignedLong(f.getInt());
                    yield new PageResponse.RelSize(id, lsn, exists ? blocks : -1);
                }
                case DATABASES -> {
                    Lsn lsn = new Lsn(f.getLong());
                    int n = count(f, 8);
                    List<DbDirectory.Db> dbs = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        dbs.add(new DbDirectory.Db(f.getInt(), f.getInt()));
                    }
                    yield new PageResponse.Databases(id, lsn, dbs);
                }
                case RELATIONS -> {
                    Lsn lsn = new Lsn(f.getLong());
                    int n = count(f, 5);
                    List<RelDirectory.RelFork> rels = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        rels.add(new RelDirectory.RelFork(f.getInt(), f.get() & 0xFF));
                    }
                    yield new PageResponse.Relations(id, lsn, rels);
                }
                case BASEBACKUP_CHUNK -> {
                    byte[] b = new byte[f.remaining()];
                    f.get(b);
                    yield new PageResponse.BasebackupChunk(id, b);
                }
                case BASEBACKUP_END -> new PageResponse.BasebackupEnd(id, new Lsn(f.getLong()), new Lsn(f.getLong()));
                case LSN_REACHED -> new PageResponse.LsnReached(id, new Lsn(f.getLong()));
                case AUTHENTICATED -> new PageResponse.Authenticated(id);
                case ERROR -> {
                    int code = f.getShort() & 0xFFFF;
                    int len = f.getShort() & 0xFFFF;
                    byte[] msg = new byte[len];
                    f.get(msg);
                    yield new PageResponse.Error(id, code, new String(msg, StandardCharsets.UTF_8));
                }
                default -> throw new ProtocolException(String.format("response %d: unknown response type 0x%02X", id, type));
            };
            if (f.hasRemaining()) {
                throw new ProtocolException(String.format("response %d of type 0x%02X has %d bytes too many", id, type,
                        f.remaining()));
            }
            return r;
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new ProtocolException("response frame is truncated or malformed: " + e);
        }
    }

    private static int count(ByteBuffer f, int entryBytes) {
        int n = f.getInt();
        if (n < 0 || n > MAX_LIST_ENTRIES || (long) n * entryBytes != f.remaining()) {
            throw new ProtocolException("list of " + Integer.toUnsignedString(n) + " entries does not match the "
                    + f.remaining() + " bytes that follow");
        }
        return n;
    }
}
