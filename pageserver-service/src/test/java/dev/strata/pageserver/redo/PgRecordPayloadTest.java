package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.ingest.PageChecksum;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RmgrId;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * The payload of a PostgreSQL record kept for Java redo, and {@link PageserverRedo}'s use of it,
 * on heap INSERT records laid out byte for byte as PostgreSQL 17 assembles them (one block
 * reference with data, main data {@code xl_heap_insert}).
 */
class PgRecordPayloadTest {

    private static final Key KEY = Key.relationBlock(1663, 5, 16384, 0, 7);
    private final PageserverRedo redo = new PageserverRedo();

    @Test
    void aRecordRoundTripsWithItsBlockIdLsnsAndFlags() {
        DecodedRecord r = insert(Lsn.of(0x1000028L), Lsn.of(0x1000090L), 1, true);
        byte[] payload = PgRecordPayload.encode(r, 0, true);
        assertThat(payload[0]).isEqualTo((byte) PgRecordPayload.FORMAT);
        assertThat(PgRecordPayload.isPgRecord(payload)).isTrue();
        PgRecordPayload p = PgRecordPayload.decode(payload);
        assertThat(p.blockId()).isZero();
        assertThat(p.dataChecksums()).isTrue();
        assertThat(p.startLsn()).isEqualTo(r.startLsn());
        assertThat(p.endLsn()).isEqualTo(r.endLsn());
        assertThat(p.record().rmid()).isEqualTo(RmgrId.HEAP.id());
        assertThat(p.record().recordTypeName()).isEqualTo("INSERT+INIT");
        assertThat(p.record().block(0).blockNumber()).isEqualTo(7);
        assertThat(p.record().block(0).data()).isEqualTo(r.block(0).data());
        assertThat(PgRecordPayload.decode(PgRecordPayload.encode(r, 0, false)).dataChecksums()).isFalse();
        assertThatThrownBy(() -> PgRecordPayload.encode(r, 3, false)).hasMessageContaining("no block 3");
    }

    @Test
    void redoBuildsTheChainFromZerosStampsTheEndLsnAndSetsTheChecksum() {
        DecodedRecord first = insert(Lsn.of(0x1000028L), Lsn.of(0x1000090L), 1, true);
        DecodedRecord second = insert(Lsn.of(0x1000090L), Lsn.of(0x1000100L), 2, false);
        byte[] page = redo.apply(KEY, null, List.of(
                new Value.WalRecord(PgRecordPayload.encode(first, 0, true), true),
                new Value.WalRecord(PgRecordPayload.encode(second, 0, true), false)));
        assertThat(Page.maxOffset(page)).isEqualTo(2);
        assertThat(ItemId.isNormal(page, 2)).isTrue();
        assertThat(Page.lsn(page)).isEqualTo(second.endLsn().value());
        int checksum = (page[8] & 0xFF) | (page[9] & 0xFF) << 8;
        assertThat(checksum).isEqualTo(PageChecksum.compute(page, 7));

        // Without data checksums pd_checksum stays as redo left it (0 on a page built from zeros).
        byte[] plain = redo.apply(KEY, null, List.of(new Value.WalRecord(PgRecordPayload.encode(first, 0, false), true)));
        assertThat(plain[8]).isZero();
        assertThat(plain[9]).isZero();

        // The same chain from a base: the base is not modified.
        byte[] base = redo.apply(KEY, null, List.of(new Value.WalRecord(PgRecordPayload.encode(first, 0, false), true)));
        byte[] copy = base.clone();
        byte[] onBase = redo.apply(KEY, base, List.of(new Value.WalRecord(PgRecordPayload.encode(second, 0, false), false)));
        assertThat(base).isEqualTo(copy);
        assertThat(Page.maxOffset(onBase)).isEqualTo(2);
    }

    @Test
    void badPayloadsAndMissingBasesAreErrorsNamingTheKey() {
        DecodedRecord first = insert(Lsn.of(0x1000028L), Lsn.of(0x1000090L), 1, true);
        DecodedRecord second = insert(Lsn.of(0x1000090L), Lsn.of(0x1000100L), 2, false);
        assertThatThrownBy(() -> redo.apply(KEY, null,
                List.of(new Value.WalRecord(PgRecordPayload.encode(second, 0, false), false))))
                .hasMessageContaining("no base page for the Heap/INSERT record at " + second.startLsn())
                .hasMessageContaining(KEY.describe());
        byte[] corrupt = PgRecordPayload.encode(first, 0, false);
        corrupt[corrupt.length - 1] ^= 1; // the CRC no longer matches
        assertThatThrownBy(() -> redo.apply(KEY, null, List.of(new Value.WalRecord(corrupt, true))))
                .hasMessageContaining("bad record on " + KEY.describe())
                .hasMessageContaining("checksum");
        byte[] shortOne = java.util.Arrays.copyOf(PgRecordPayload.encode(first, 0, false), 30);
        assertThatThrownBy(() -> redo.apply(KEY, null, List.of(new Value.WalRecord(shortOne, true))))
                .hasMessageContaining("bad record on");
        // A routine that fails (offset 5 on a page with one item) names the record and the key.
        DecodedRecord tooFar = insert(Lsn.of(0x1000090L), Lsn.of(0x1000100L), 5, false);
        byte[] base = redo.apply(KEY, null, List.of(new Value.WalRecord(PgRecordPayload.encode(first, 0, false), true)));
        assertThatThrownBy(() -> redo.apply(KEY, base,
                List.of(new Value.WalRecord(PgRecordPayload.encode(tooFar, 0, false), false))))
                .hasMessageContaining("redo of Heap/INSERT at " + tooFar.startLsn() + " failed on " + KEY.describe());
    }

    /**
     * A heap INSERT of a 4-byte tuple body at {@code offnum} of block 7 of 1663/5/16384, as
     * {@code heap_insert} assembles it: block 0 (HAS_DATA, WILL_INIT with {@code init}) whose
     * data is {@code xl_heap_header} + body, main data {@code xl_heap_insert}.
     */
    static DecodedRecord insert(Lsn start, Lsn end, int offnum, boolean init) {
        byte[] tupleData = new byte[5 + 4];
        ByteBuffer td = ByteBuffer.wrap(tupleData).order(ByteOrder.LITTLE_ENDIAN);
        td.putShort(0, (short) 1); // t_infomask2: one attribute
        td.putShort(2, (short) 0x0800); // t_infomask: HEAP_XMAX_INVALID
        tupleData[4] = 24; // t_hoff
        td.putInt(5, 42);
        byte[] main = new byte[3];
        main[0] = (byte) offnum;
        int total = 24 + 4 + 12 + 4 + 2 + tupleData.length + main.length;
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(total).putInt(900).putLong(start.value() - 0x40);
        b.put((byte) (init ? 0x80 : 0x00)).put((byte) RmgrId.HEAP.id()).putShort((short) 0).putInt(0);
        b.put((byte) 0).put((byte) (0x20 | (init ? 0x40 : 0))).putShort((short) tupleData.length);
        b.putInt(1663).putInt(5).putInt(16384).putInt(7);
        b.put((byte) 255).put((byte) main.length);
        b.put(tupleData).put(main);
        byte[] raw = b.array();
        CRC32C crc = new CRC32C();
        crc.update(raw, 24, total - 24);
        crc.update(raw, 0, 20);
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).putInt(20, (int) crc.getValue());
        return DecodedRecord.decode(start, end, raw);
    }
}
