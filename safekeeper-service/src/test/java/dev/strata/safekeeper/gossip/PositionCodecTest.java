package dev.strata.safekeeper.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.election.PeerPosition;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PositionCodecTest {

    private static final NodeId SK2 = NodeId.of("sk-2");

    static PositionDatagram.Entry entry(NodeId node, long promised, long lastLog, long flush, long commit) {
        return new PositionDatagram.Entry(TimelineId.random(),
                new PeerPosition(node, Term.of(promised), Term.of(lastLog), new Lsn(flush), new Lsn(commit)));
    }

    @Test
    void roundTripsEveryField() {
        PositionCodec codec = new PositionCodec("secret");
        List<PositionDatagram.Entry> entries = List.of(entry(SK2, 7, 6, 0x1_2345_6789L, 0x1_0000_0000L),
                entry(SK2, Long.MAX_VALUE, 0, -1L, 0),
                new PositionDatagram.Entry(TimelineId.random(), new PeerPosition(SK2, Term.of(3), Term.of(3),
                        new Lsn(0x5000000), new Lsn(0x4000000), new Lsn(0x3000000))),
                new PositionDatagram.Entry(TimelineId.random(), new PeerPosition(SK2, Term.of(3), Term.of(3),
                        new Lsn(0x5000000), new Lsn(0x4000000), new Lsn(0x3000000), new Lsn(0x2000000))));
        PositionDatagram d = new PositionDatagram(SK2, 1_733_000_000_000_000L, entries);
        byte[] wire = codec.encode(d);
        assertThat(new PositionCodec("secret").decode(wire, wire.length)).isEqualTo(d);
    }

    @Test
    void aFullDatagramWithTheLongestIdFitsTheLimit() {
        NodeId longest = NodeId.of("a".repeat(63));
        List<PositionDatagram.Entry> entries = new ArrayList<>();
        for (int i = 0; i < PositionCodec.MAX_ENTRIES; i++) {
            entries.add(entry(longest, i, i, i, i));
        }
        PositionCodec codec = new PositionCodec("s");
        byte[] wire = codec.encode(new PositionDatagram(longest, 1, entries));
        assertThat(wire.length).isEqualTo(PositionCodec.MAX_DATAGRAM).isLessThanOrEqualTo(1472); // one IPv4 Ethernet frame
        assertThat(codec.decode(wire, wire.length).entries()).isEqualTo(entries);
        entries.add(entry(longest, 1, 1, 1, 1));
        assertThatThrownBy(() -> codec.encode(new PositionDatagram(longest, 1, entries)))
                .hasMessageContaining("1 to " + PositionCodec.MAX_ENTRIES);
        assertThat(PositionCodec.split(entries)).hasSize(2);
        assertThat(PositionCodec.split(entries).get(1)).hasSize(1);
    }

    @Test
    void anotherSecretOrAnyFlippedBitIsRefused() {
        PositionCodec codec = new PositionCodec("secret");
        byte[] wire = codec.encode(new PositionDatagram(SK2, 5, List.of(entry(SK2, 1, 1, 0x1000000, 0x1000000))));
        assertThatThrownBy(() -> new PositionCodec("other").decode(wire, wire.length))
                .isInstanceOf(MalformedDatagramException.class).hasMessageContaining("bad signature");
        for (int i = 5; i < wire.length; i++) { // after magic and version: every byte is signed
            byte[] bad = wire.clone();
            bad[i] ^= 0x10;
            assertThatThrownBy(() -> codec.decode(bad, bad.length)).as("byte " + i)
                    .isInstanceOf(MalformedDatagramException.class).hasMessageContaining("bad signature");
        }
    }

    @Test
    void malformedDatagramsAreRefusedNamingWhy() {
        PositionCodec codec = new PositionCodec("secret");
        byte[] wire = codec.encode(new PositionDatagram(SK2, 5, List.of(entry(SK2, 1, 1, 0, 0))));
        assertThatThrownBy(() -> codec.decode(new byte[3], 3)).hasMessageContaining("too short");
        assertThatThrownBy(() -> codec.decode(new byte[5000], 5000)).hasMessageContaining("too long");
        byte[] magic = wire.clone();
        magic[0] = 'X';
        assertThatThrownBy(() -> codec.decode(magic, magic.length)).hasMessageContaining("bad magic");
        byte[] version = wire.clone();
        version[4] = 9;
        assertThatThrownBy(() -> codec.decode(version, version.length)).hasMessageContaining("version 9");
        assertThatThrownBy(() -> codec.decode(wire, wire.length - 1)).isInstanceOf(MalformedDatagramException.class);
    }

    /** A safekeeper built before WAL offload sends version 1: refused, saying what to do, not "bad signature". */
    @Test
    void theVersionBeforeOffloadIsRefusedByName() {
        PositionCodec codec = new PositionCodec("secret");
        byte[] wire = codec.encode(new PositionDatagram(SK2, 5, List.of(entry(SK2, 1, 1, 0, 0))));
        byte[] old = wire.clone();
        old[4] = 1;
        assertThatThrownBy(() -> codec.decode(old, old.length)).isInstanceOf(MalformedDatagramException.class)
                .hasMessageContaining("version 1").hasMessageContaining("before WAL offload")
                .hasMessageContaining("upgrade every safekeeper");
    }

    /** Well signed (a holder of the secret) but inconsistent inside: still refused, with the reason. */
    @Test
    void signedButInconsistentContentIsRefused() {
        PositionCodec codec = new PositionCodec("secret");
        assertThatThrownBy(() -> codec.decode(signed(codec, 4, "sk-2", 2, PositionCodec.ENTRY_BYTES)))
                .hasMessageContaining("entry count 2");
        assertThatThrownBy(() -> codec.decode(signed(codec, 4, "SK_2", 1, PositionCodec.ENTRY_BYTES)))
                .hasMessageContaining("bad sender id");
        assertThatThrownBy(() -> codec.decode(signed(codec, 0, "", 1, PositionCodec.ENTRY_BYTES)))
                .hasMessageContaining("sender id length 0");
        byte[] body = signedEntry(codec, 1, 2); // last log term above the promise
        assertThatThrownBy(() -> codec.decode(body)).hasMessageContaining("above its promised term");
        byte[] negative = signedEntry(codec, -1, 0);
        assertThatThrownBy(() -> codec.decode(negative)).hasMessageContaining("non-negative");
    }

    @Test
    void randomBytesNeverEscapeAsAnythingButARefusal() {
        PositionCodec codec = new PositionCodec("secret");
        Random r = new Random(4);
        for (int i = 0; i < 2000; i++) {
            byte[] junk = new byte[r.nextInt(1500)];
            r.nextBytes(junk);
            if (junk.length > 4 && r.nextBoolean()) {
                System.arraycopy(PositionCodec.MAGIC, 0, junk, 0, 4);
                junk[4] = (byte) PositionCodec.VERSION;
            }
            assertThatThrownBy(() -> codec.decode(junk, junk.length)).isInstanceOf(MalformedDatagramException.class);
        }
    }

    private static byte[] signedEntry(PositionCodec codec, long promised, long lastLog) {
        byte[] b = signed(codec, 4, "sk-2", 1, PositionCodec.ENTRY_BYTES);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b);
        int entryAt = 4 + 1 + 1 + 4 + 8 + 2;
        buf.putLong(entryAt + 16, promised).putLong(entryAt + 24, lastLog);
        return resign(codec, b);
    }

    /** A datagram signed with the right secret whose header says what the arguments say. */
    private static byte[] signed(PositionCodec codec, int idLenField, String id, int count, int entryBytes) {
        byte[] idBytes = id.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + 1 + 1 + idBytes.length + 8 + 2 + entryBytes + 16);
        b.put(PositionCodec.MAGIC).put((byte) PositionCodec.VERSION).put((byte) idLenField).put(idBytes).putLong(1).putShort((short) count);
        return resign(codec, b.array());
    }

    private static byte[] resign(PositionCodec codec, byte[] b) {
        try {
            byte[] key = java.security.MessageDigest.getInstance("SHA-256").digest(
                    concat("strata safekeeper position datagram v1\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                            "secret".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
            mac.update(b, 0, b.length - 16);
            System.arraycopy(mac.doFinal(), 0, b, b.length - 16, 16);
            return b;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
