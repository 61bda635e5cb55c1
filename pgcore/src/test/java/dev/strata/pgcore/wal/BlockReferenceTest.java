package dev.strata.pgcore.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.strata.pgcore.lsn.Lsn;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;

class BlockReferenceTest {

    private static final RelFileLocator REL = new RelFileLocator(1663, 5, 16384);

    /** A page as PostgreSQL lays it out: header and line pointers, a zero hole, tuples at the end. */
    private static byte[] page(int seed, int holeOffset, int holeLength) {
        byte[] p = new byte[8192];
        new Random(seed).nextBytes(p);
        Arrays.fill(p, holeOffset, holeOffset + holeLength, (byte) 0);
        for (int i = holeOffset + holeLength; i < 8192; i++) {
            p[i] = (byte) (i % 29); // compressible tuples
        }
        return p;
    }

    /** Builds a record body: block headers, then each block's image and data, then main data. */
    private static final class Body {
        private final ByteArrayOutputStream headers = new ByteArrayOutputStream();
        private final ByteArrayOutputStream payload = new ByteArrayOutputStream();

        Body block(int id, int flags, RelFileLocator rel, int blkno, byte[] storedImage, int holeOffset, int holeLength,
                   int bimgInfo, byte[] data) {
            headers.write(id);
            headers.write(flags);
            writeU16(headers, data == null ? 0 : data.length);
            if (storedImage != null) {
                writeU16(headers, storedImage.length);
                writeU16(headers, holeOffset);
                headers.write(bimgInfo);
                if ((bimgInfo & BlockImage.COMPRESS_MASK) != 0 && (bimgInfo & BlockImage.HAS_HOLE) != 0) {
                    writeU16(headers, holeLength);
                }
                payload.writeBytes(storedImage);
            }
            if (rel != null) {
                writeU32(headers, (int) rel.spcOid());
                writeU32(headers, (int) rel.dbOid());
                writeU32(headers, (int) rel.relNumber());
            }
            writeU32(headers, blkno);
            if (data != null) {
                payload.writeBytes(data);
            }
            return this;
        }

        Body origin(int id) {
            headers.write(RecordParser.BLOCK_ID_ORIGIN);
            writeU16(headers, id);
            return this;
        }

        Body toplevelXid(int xid) {
            headers.write(RecordParser.BLOCK_ID_TOPLEVEL_XID);
            writeU32(headers, xid);
            return this;
        }

        byte[] withMainData(byte[] main) {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.writeBytes(headers.toByteArray());
            byte[] md = WalBuilder.mainDataBody(main);
            int mdHeader = md.length - main.length;
            all.write(md, 0, mdHeader);
            all.writeBytes(payload.toByteArray());
            all.writeBytes(main);
            return all.toByteArray();
        }

        private static void writeU16(ByteArrayOutputStream o, int v) {
            o.write(v & 0xFF);
            o.write((v >> 8) & 0xFF);
        }

        private static void writeU32(ByteArrayOutputStream o, int v) {
            writeU16(o, v & 0xFFFF);
            writeU16(o, (v >>> 16) & 0xFFFF);
        }
    }

    private static byte[] withoutHole(byte[] page, int holeOffset, int holeLength) {
        byte[] out = new byte[8192 - holeLength];
        System.arraycopy(page, 0, out, 0, holeOffset);
        System.arraycopy(page, holeOffset + holeLength, out, holeOffset, 8192 - holeOffset - holeLength);
        return out;
    }

    private static DecodedRecord decodeOne(byte[] body) {
        WalBuilder w = WalBuilder.small();
        w.record(RmgrId.HEAP.id(), 0x00, 42, body);
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(w.start));
        d.feed(w.bytes());
        DecodedRecord r = d.poll();
        assertThat(r).isNotNull();
        return r;
    }

    @Test
    void decodesBlocksImagesDataOriginAndToplevelXid() {
        byte[] page0 = page(1, 200, 5000);
        byte[] stored0 = withoutHole(page0, 200, 5000);
        byte[] page1 = page(2, 0, 0);
        byte[] data0 = {1, 2, 3};
        byte[] body = new Body()
                .origin(7)
                .toplevelXid(99)
                .block(0, BlockReference.HAS_IMAGE | BlockReference.HAS_DATA, REL, 10, stored0, 200, 5000,
                        BlockImage.HAS_HOLE | BlockImage.APPLY, data0)
                .block(2, BlockReference.HAS_IMAGE | BlockReference.SAME_REL | 2, null, 11, page1, 0, 0, 0, null)
                .block(3, BlockReference.WILL_INIT | BlockReference.HAS_DATA | 1, new RelFileLocator(1663, 5, 16390), 0,
                        null, 0, 0, 0, new byte[300])
                .withMainData(new byte[] {9, 8, 7});
        DecodedRecord r = decodeOne(body);
        assertThat(r.originId()).isEqualTo(7);
        assertThat(r.toplevelXid()).isEqualTo(99);
        assertThat(r.mainData()).containsExactly(9, 8, 7);
        assertThat(r.blocks()).extracting(BlockReference::id).containsExactly(0, 2, 3);
        BlockReference b0 = r.block(0);
        assertThat(b0.locator()).isEqualTo(REL);
        assertThat(b0.blockNumber()).isEqualTo(10);
        assertThat(b0.fork()).isEqualTo(ForkNumber.MAIN);
        assertThat(b0.data()).isEqualTo(data0);
        assertThat(b0.image()).isEqualTo(new BlockImage(8192 - 5000, 200, 5000, BlockImage.HAS_HOLE | BlockImage.APPLY));
        assertThat(b0.restoredPage()).isEqualTo(page0);
        BlockReference b2 = r.block(2);
        assertThat(b2.sameRel()).isTrue();
        assertThat(b2.locator()).isEqualTo(REL);
        assertThat(b2.fork()).isEqualTo(ForkNumber.VISIBILITY_MAP);
        assertThat(b2.image().apply()).isFalse(); // a wal_consistency_checking image
        assertThat(b2.restoredPage()).isEqualTo(page1);
        BlockReference b3 = r.block(3);
        assertThat(b3.willInit()).isTrue();
        assertThat(b3.hasImage()).isFalse();
        assertThat(b3.fork()).isEqualTo(ForkNumber.FSM);
        assertThat(b3.dataLength()).isEqualTo(300);
        assertThat(r.fpiLength()).isEqualTo(8192 - 5000 + 8192);
    }

    @Test
    void restoresPglzLz4AndZstdImagesWithAndWithoutHole() {
        List<byte[]> pages = new ArrayList<>();
        Body body = new Body();
        int id = 0;
        for (int kind : new int[] {BlockImage.COMPRESS_PGLZ, BlockImage.COMPRESS_LZ4, BlockImage.COMPRESS_ZSTD}) {
            for (int hole : new int[] {0, 3000}) {
                byte[] page = page(id, 100, hole);
                byte[] raw = withoutHole(page, hole == 0 ? 0 : 100, hole);
                byte[] compressed = switch (kind) {
                    case BlockImage.COMPRESS_PGLZ -> PglzTest.compress(raw);
                    case BlockImage.COMPRESS_LZ4 -> LZ4Factory.fastestJavaInstance().fastCompressor().compress(raw);
                    default -> Zstd.compress(raw);
                };
                int info = kind | BlockImage.APPLY | (hole != 0 ? BlockImage.HAS_HOLE : 0);
                body.block(id, BlockReference.HAS_IMAGE | (id == 0 ? 0 : BlockReference.SAME_REL), id == 0 ? REL : null,
                        id, compressed, hole == 0 ? 0 : 100, hole, info, null);
                pages.add(page);
                id++;
            }
        }
        DecodedRecord r = decodeOne(body.withMainData(new byte[0]));
        assertThat(r.blocks()).hasSize(6);
        for (BlockReference b : r.blocks()) {
            assertThat(b.image().isCompressed()).isTrue();
            assertThat(b.restoredPage()).as("block " + b.id() + " " + b.image().compression()).isEqualTo(pages.get(b.id()));
        }
    }

    @Test
    void corruptCompressedImageFailsWithTheRecordLsn() {
        byte[] page = page(9, 100, 0);
        byte[] compressed = PglzTest.compress(page);
        compressed[compressed.length / 2] ^= 0x55;
        compressed = Arrays.copyOf(compressed, compressed.length - 3);
        byte[] body = new Body().block(0, BlockReference.HAS_IMAGE, REL, 1, compressed, 0, 0,
                BlockImage.COMPRESS_PGLZ, null).withMainData(new byte[0]);
        DecodedRecord r = decodeOne(body);
        assertThatThrownBy(() -> r.block(0).restoredPage()).isInstanceOf(WalDecodeException.class)
                .hasMessageContaining("corrupt PGLZ").hasMessageContaining(r.startLsn().toString());
    }

    @Test
    void inconsistentBlockHeadersAreRejected() {
        byte[] page = page(1, 0, 0);
        assertBad(new Body().block(0, BlockReference.SAME_REL, null, 1, null, 0, 0, 0, null), "no previous rel");
        assertBad(new Body().block(0, BlockReference.HAS_DATA, REL, 1, null, 0, 0, 0, new byte[0]), "no data included");
        assertBad(new Body().block(3, 0, REL, 1, null, 0, 0, 0, null).block(2, 0, REL, 1, null, 0, 0, 0, null),
                "out-of-order block_id");
        assertBad(new Body().block(40, 0, REL, 1, null, 0, 0, 0, null), "invalid block_id 40");
        assertBad(new Body().block(0, 9, REL, 1, null, 0, 0, 0, null), "invalid fork number 9");
        assertBad(new Body().block(0, BlockReference.HAS_IMAGE, REL, 1, Arrays.copyOf(page, 8000), 0, 0, 0, null),
                "BKPIMAGE_HAS_HOLE not set, but hole offset 0 length 192");
        assertBad(new Body().block(0, BlockReference.HAS_IMAGE, REL, 1, Arrays.copyOf(page, 8000), 0, 192,
                BlockImage.HAS_HOLE, null), "BKPIMAGE_HAS_HOLE set");
    }

    private static void assertBad(Body body, String message) {
        WalBuilder w = WalBuilder.small();
        Lsn at = w.record(RmgrId.HEAP.id(), 0, 1, body.withMainData(new byte[0]));
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(w.start));
        d.feed(w.bytes());
        assertThatThrownBy(d::poll).isInstanceOf(WalDecodeException.class).hasMessageContaining(message)
                .extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(at);
    }
}
