package dev.strata.safekeeper.gossip;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.election.PeerPosition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;

/**
 * The wire format of position datagrams (version 2, big-endian), signed with the cluster's
 * shared secret so that nobody without it can speak for a safekeeper:
 *
 * <pre>
 *   4  magic "SKPG"
 *   1  version (2; version 1, before WAL offload, had no offloaded LSN and is refused by name)
 *   1  sender id length n (1..63), then n bytes of the sender's node id (ASCII)
 *   8  sequence
 *   2  entry count k (1..{@value #MAX_ENTRIES})
 *   k x 64: timeline id (16), promised term (8), last log term (8), flush LSN (8), commit LSN (8),
 *           the pageserver's remote-consistent LSN as this node knows it (8),
 *           the offloaded LSN as this node knows it (8: WAL below it is in object storage)
 *  16  HMAC-SHA256 of every byte above, truncated to 16 bytes
 * </pre>
 *
 * A datagram is at most {@value #MAX_DATAGRAM} bytes, well inside one Ethernet frame; more
 * timelines than fit go in several datagrams. Decoding checks everything and names what is
 * wrong ({@link MalformedDatagramException}); it never trusts a length it has not bounded.
 *
 * <p>Not thread-safe (it holds a {@link Mac}): one instance per sending or receiving thread.
 */
public final class PositionCodec {

    static final byte[] MAGIC = {'S', 'K', 'P', 'G'};
    static final int VERSION = 2;
    /** The format before WAL offload (no offloaded LSN); refused with a message that says so. */
    static final int VERSION_BEFORE_OFFLOAD = 1;
    static final int ENTRY_BYTES = TimelineId.BYTES + 6 * Long.BYTES;
    static final int MAC_BYTES = 16;
    /** Entries per datagram: with a 63-byte sender id the datagram stays within {@value #MAX_DATAGRAM} bytes. */
    public static final int MAX_ENTRIES = 20;
    public static final int MAX_DATAGRAM = MAGIC.length + 1 + 1 + 63 + Long.BYTES + Short.BYTES
            + MAX_ENTRIES * ENTRY_BYTES + MAC_BYTES;

    private final Mac mac;
    private final byte[] macOut = new byte[32];

    /** @param secret the cluster's shared secret (the safekeepers' replication password) */
    public PositionCodec(String secret) {
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("position datagrams need a shared secret");
        }
        try {
            // A key of its own for this purpose, derived from the secret.
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update("strata safekeeper position datagram v1\0".getBytes(StandardCharsets.US_ASCII));
            byte[] key = sha.digest(secret.getBytes(StandardCharsets.UTF_8));
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available in this JVM", e);
        }
    }

    /** Encodes the datagram; it must have 1 to {@value #MAX_ENTRIES} entries (see {@link #split}). */
    public byte[] encode(PositionDatagram d) {
        int k = d.entries().size();
        if (k < 1 || k > MAX_ENTRIES) {
            throw new IllegalArgumentException("a datagram carries 1 to " + MAX_ENTRIES + " entries, got " + k);
        }
        byte[] id = d.sender().value().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 2 + id.length + Long.BYTES + Short.BYTES + k * ENTRY_BYTES + MAC_BYTES);
        b.put(MAGIC).put((byte) VERSION).put((byte) id.length).put(id).putLong(d.sequence()).putShort((short) k);
        for (PositionDatagram.Entry e : d.entries()) {
            PeerPosition p = e.position();
            b.put(e.timeline().toBytes())
                    .putLong(p.promisedTerm().value())
                    .putLong(p.lastLogTerm().value())
                    .putLong(p.flushLsn().value())
                    .putLong(p.commitLsn().value())
                    .putLong(p.remoteConsistentLsn().value())
                    .putLong(p.offloadedLsn().value());
        }
        byte[] out = b.array();
        sign(out, b.position());
        return out;
    }

    /** Groups entries into datagrams of at most {@value #MAX_ENTRIES}. */
    public static List<List<PositionDatagram.Entry>> split(List<PositionDatagram.Entry> entries) {
        List<List<PositionDatagram.Entry>> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i += MAX_ENTRIES) {
            out.add(entries.subList(i, Math.min(entries.size(), i + MAX_ENTRIES)));
        }
        return out;
    }

    /** Decodes and authenticates a whole datagram. */
    public PositionDatagram decode(byte[] data) {
        return decode(data, data.length);
    }

    /** Decodes and authenticates the first {@code len} bytes; throws naming the first thing wrong. */
    public PositionDatagram decode(byte[] data, int len) {
        if (len < MAGIC.length + 2 + 1 + Long.BYTES + Short.BYTES + MAC_BYTES) {
            throw new MalformedDatagramException("too short (" + len + " bytes)");
        }
        if (len > MAX_DATAGRAM) {
            throw new MalformedDatagramException("too long (" + len + " bytes, at most " + MAX_DATAGRAM + ")");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (data[i] != MAGIC[i]) {
                throw new MalformedDatagramException("not a position datagram (bad magic)");
            }
        }
        int version = data[4] & 0xFF;
        if (version == VERSION_BEFORE_OFFLOAD) {
            throw new MalformedDatagramException("version " + version + " is from a safekeeper built before WAL offload"
                    + " (this node speaks " + VERSION + ", which adds the offloaded LSN); upgrade every safekeeper of"
                    + " the cluster together");
        }
        if (version != VERSION) {
            throw new MalformedDatagramException("unsupported version " + version + " (this node speaks " + VERSION + ")");
        }
        // Authenticate before interpreting anything else: only the secret's holders are heard.
        int signed = len - MAC_BYTES;
        if (!MessageDigest.isEqual(tag(data, signed), Arrays.copyOfRange(data, signed, len))) {
            throw new MalformedDatagramException("bad signature (not from a holder of this cluster's secret, or altered)");
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, signed);
        b.position(5);
        int idLen = b.get() & 0xFF;
        if (idLen < 1 || idLen > 63 || b.remaining() < idLen + Long.BYTES + Short.BYTES) {
            throw new MalformedDatagramException("bad sender id length " + idLen);
        }
        byte[] id = new byte[idLen];
        b.get(id);
        NodeId sender;
        long sequence = b.getLong();
        int k = b.getShort() & 0xFFFF;
        try {
            sender = NodeId.of(new String(id, StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new MalformedDatagramException("bad sender id: " + e.getMessage());
        }
        if (k < 1 || k > MAX_ENTRIES || b.remaining() != k * ENTRY_BYTES) {
            throw new MalformedDatagramException("entry count " + k + " does not match the " + b.remaining() + " bytes that follow");
        }
        List<PositionDatagram.Entry> entries = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            byte[] tl = new byte[TimelineId.BYTES];
            b.get(tl);
            long promised = b.getLong();
            long lastLog = b.getLong();
            long flush = b.getLong();
            long commit = b.getLong();
            long remoteConsistent = b.getLong();
            long offloaded = b.getLong();
            try {
                entries.add(new PositionDatagram.Entry(TimelineId.of(tl),
                        new PeerPosition(sender, Term.of(promised), Term.of(lastLog), new Lsn(flush), new Lsn(commit),
                                new Lsn(remoteConsistent), new Lsn(offloaded))));
            } catch (IllegalArgumentException e) {
                throw new MalformedDatagramException("entry " + i + " from " + sender + ": " + e.getMessage());
            }
        }
        return new PositionDatagram(sender, sequence, entries);
    }

    private void sign(byte[] out, int signed) {
        System.arraycopy(tag(out, signed), 0, out, signed, MAC_BYTES);
    }

    /** The truncated HMAC of the first {@code len} bytes. */
    private byte[] tag(byte[] data, int len) {
        mac.update(data, 0, len);
        try {
            mac.doFinal(macOut, 0);
        } catch (ShortBufferException e) {
            throw new IllegalStateException(e);
        }
        return Arrays.copyOf(macOut, MAC_BYTES);
    }
}
