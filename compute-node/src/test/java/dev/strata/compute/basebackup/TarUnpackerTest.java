package dev.strata.compute.basebackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pageserver.basebackup.IncrementalFormat;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarUnpackerTest {

    @TempDir
    Path tmp;

    private static byte[] tar(Object... nameAndContent) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
            for (int i = 0; i < nameAndContent.length; i += 2) {
                String name = (String) nameAndContent[i];
                Object content = nameAndContent[i + 1];
                if (content == null) {
                    out.putArchiveEntry(new TarArchiveEntry(name.endsWith("/") ? name : name + "/"));
                } else if (content instanceof String link) {
                    TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
                    e.setLinkName(link);
                    out.putArchiveEntry(e);
                } else {
                    byte[] data = (byte[]) content;
                    TarArchiveEntry e = new TarArchiveEntry(name);
                    e.setSize(data.length);
                    out.putArchiveEntry(e);
                    out.write(data);
                }
                out.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    @Test
    void unpacksFilesAndDirectories() throws IOException {
        byte[] archive = tar("base/", null, "base/5/", null, "base/5/1259", new byte[8192],
                "PG_VERSION", "17\n".getBytes(StandardCharsets.US_ASCII), "pg_notify/", null);
        TarUnpacker.Unpacked u = new TarUnpacker(1 << 20).unpack(new ByteArrayInputStream(archive), tmp.resolve("d"),
                (f, b) -> { });
        assertThat(u.files()).isEqualTo(2);
        assertThat(u.bytes()).isEqualTo(8195);
        assertThat(Files.readString(tmp.resolve("d/PG_VERSION"))).isEqualTo("17\n");
        assertThat(Files.size(tmp.resolve("d/base/5/1259"))).isEqualTo(8192);
        assertThat(tmp.resolve("d/pg_notify")).isDirectory();
    }

    @Test
    void refusesPathsOutsideTheTarget() throws IOException {
        byte[] archive = tar("../escape", new byte[1]);
        assertThatThrownBy(() -> new TarUnpacker(1 << 20).unpack(new ByteArrayInputStream(archive), tmp.resolve("d"),
                (f, b) -> { })).hasMessageContaining("outside the data directory");
        assertThat(tmp.resolve("escape")).doesNotExist();
    }

    @Test
    void refusesLinks() throws IOException {
        byte[] archive = tar("pg_wal", "/etc");
        assertThatThrownBy(() -> new TarUnpacker(1 << 20).unpack(new ByteArrayInputStream(archive), tmp.resolve("d"),
                (f, b) -> { })).hasMessageContaining("not a plain file");
    }

    @Test
    void refusesArchivesOverTheLimit() throws IOException {
        byte[] archive = tar("a", new byte[600], "b", new byte[600]);
        assertThatThrownBy(() -> new TarUnpacker(1000).unpack(new ByteArrayInputStream(archive), tmp.resolve("d"),
                (f, b) -> { })).hasMessageContaining("larger than the limit of 1000");
    }

    @Test
    void refusesTruncatedAndEmptyArchives() throws IOException {
        byte[] archive = tar("big", new byte[5000]);
        byte[] cut = Arrays.copyOf(archive, 512 + 2048);
        assertThatThrownBy(() -> new TarUnpacker(1 << 20).unpack(new ByteArrayInputStream(cut), tmp.resolve("d"),
                (f, b) -> { })).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> new TarUnpacker(1 << 20).unpack(new ByteArrayInputStream(tar()), tmp.resolve("e"),
                (f, b) -> { })).hasMessageContaining("empty");
    }

    @Test
    void refusesANonEmptyTarget() throws IOException {
        Files.createDirectories(tmp.resolve("d"));
        Files.writeString(tmp.resolve("d/leftover"), "x");
        assertThatThrownBy(() -> new TarUnpacker(1 << 20).unpack(new ByteArrayInputStream(tar("a", new byte[1])),
                tmp.resolve("d"), (f, b) -> { })).hasMessageContaining("non-empty");
    }

    // ---- incremental basebackups (IncrementalFormat) ------------------------------------------

    private static final BasebackupBase BASE = new BasebackupBase(TimelineId.parse("0123456789abcdef0123456789abcdef"),
            Lsn.parse("0/3000028"));

    private static byte[] page(int fill) {
        byte[] p = new byte[8192];
        Arrays.fill(p, (byte) fill);
        return p;
    }

    private static byte[] pages(int... fills) {
        ByteBuffer b = ByteBuffer.allocate(8192 * fills.length);
        for (int f : fills) {
            b.put(page(f));
        }
        return b.array();
    }

    /** A reuse entry's content, built from the format's description (not from its writer). */
    private static byte[] patch(long baseBlocks, long blocks, Object... blockAndFill) {
        ByteBuffer b = ByteBuffer.allocate(16 + blockAndFill.length / 2 * (4 + 8192));
        b.putLong(baseBlocks).putLong(blocks);
        for (int i = 0; i < blockAndFill.length; i += 2) {
            b.putInt((Integer) blockAndFill[i]).put(page((Integer) blockAndFill[i + 1]));
        }
        return b.array();
    }

    private static byte[] marker(BasebackupBase base) {
        return ("base_timeline=" + base.timeline() + "\nbase_lsn=" + base.lsn() + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    private Path baseDirectory() throws IOException {
        Path base = tmp.resolve("old");
        Files.createDirectories(base.resolve("base/5"));
        Files.write(base.resolve("base/5/16384"), pages(1, 2, 3));
        Files.write(base.resolve("base/5/16385"), pages(4, 5));
        Files.write(base.resolve("base/5/16386"), pages(6));
        return base;
    }

    @Test
    void appliesAnIncrementalArchiveOverItsBase() throws IOException {
        Path base = baseDirectory();
        byte[] archive = tar(IncrementalFormat.MARKER, marker(BASE), "base/", null, "base/5/", null,
                IncrementalFormat.REUSE_PREFIX + "base/5/16384", patch(3, 2, 1, 9), // truncated, block 1 rewritten
                IncrementalFormat.REUSE_PREFIX + "base/5/16384.1", patch(0, 1, 0, 7), // a new segment
                IncrementalFormat.REUSE_PREFIX + "base/5/16386", patch(1, 3, 1, 8, 2, 8), // grown
                "base/5/16390", pages(5)); // new; 16385 was dropped: not mentioned
        TarUnpacker.Unpacked u = new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(archive), tmp.resolve("new"),
                base, BASE, (f, b) -> { });

        assertThat(u.incremental()).isTrue();
        assertThat(u.reusedFiles()).isEqualTo(3);
        assertThat(u.patchedPages()).isEqualTo(4);
        assertThat(Files.readAllBytes(tmp.resolve("new/base/5/16384"))).isEqualTo(pages(1, 9));
        assertThat(Files.readAllBytes(tmp.resolve("new/base/5/16384.1"))).isEqualTo(pages(7));
        assertThat(Files.readAllBytes(tmp.resolve("new/base/5/16386"))).isEqualTo(pages(6, 8, 8));
        assertThat(Files.readAllBytes(tmp.resolve("new/base/5/16390"))).isEqualTo(pages(5));
        assertThat(tmp.resolve("new/base/5/16385")).doesNotExist();
        // Taken over, not copied: what the new directory reuses has left the base.
        assertThat(base.resolve("base/5/16384")).doesNotExist();
        assertThat(base.resolve("base/5/16385")).exists();
    }

    @Test
    void zeroExtendsBlocksNoPageWrote() throws IOException {
        Path base = baseDirectory();
        byte[] archive = tar(IncrementalFormat.MARKER, marker(BASE),
                IncrementalFormat.REUSE_PREFIX + "base/5/16386", patch(1, 3, 1, 8));
        new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(archive), tmp.resolve("new"), base, BASE, (f, b) -> { });
        assertThat(Files.readAllBytes(tmp.resolve("new/base/5/16386"))).isEqualTo(pages(6, 8, 0));
    }

    @Test
    void refusesAnArchiveMadeAgainstAnotherBase() throws IOException {
        Path base = baseDirectory();
        BasebackupBase other = new BasebackupBase(BASE.timeline(), Lsn.parse("0/4000028"));
        byte[] archive = tar(IncrementalFormat.MARKER, marker(other),
                IncrementalFormat.REUSE_PREFIX + "base/5/16384", patch(3, 3));
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(archive), tmp.resolve("new"),
                base, BASE, (f, b) -> { })).hasMessageContaining("applies to " + other);
        assertThat(base.resolve("base/5/16384")).exists();
    }

    @Test
    void refusesAnIncrementalArchiveWithoutABase() throws IOException {
        byte[] archive = tar(IncrementalFormat.MARKER, marker(BASE), "PG_VERSION", new byte[3]);
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(archive), tmp.resolve("new"),
                (f, b) -> { })).hasMessageContaining("no base directory");
    }

    @Test
    void refusesAReuseEntryInAFullArchive() throws IOException {
        Path base = baseDirectory();
        byte[] archive = tar("PG_VERSION", new byte[3], IncrementalFormat.REUSE_PREFIX + "base/5/16384", patch(3, 3));
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(archive), tmp.resolve("new"),
                base, BASE, (f, b) -> { })).hasMessageContaining("not incremental");
    }

    @Test
    void refusesABaseFileOfAnotherLength() throws IOException {
        Path base = baseDirectory();
        byte[] archive = tar(IncrementalFormat.MARKER, marker(BASE),
                IncrementalFormat.REUSE_PREFIX + "base/5/16384", patch(2, 2), // longer than expected: fine
                IncrementalFormat.REUSE_PREFIX + "base/5/16385", patch(3, 3));
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(archive), tmp.resolve("new"),
                base, BASE, (f, b) -> { })).hasMessageContaining("expects the base's file of at least 24576 bytes")
                .hasMessageContaining("has 16384 bytes");
        assertThat(tmp.resolve("new/base/5/16384")).hasSize(16384);
        byte[] missing = tar(IncrementalFormat.MARKER, marker(BASE),
                IncrementalFormat.REUSE_PREFIX + "base/5/99999", patch(1, 1));
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(missing), tmp.resolve("new2"),
                base, BASE, (f, b) -> { })).hasMessageContaining("has none");
    }

    @Test
    void refusesMalformedAndEscapingReuseEntries() throws IOException {
        Path base = baseDirectory();
        byte[] escaping = tar(IncrementalFormat.MARKER, marker(BASE),
                IncrementalFormat.REUSE_PREFIX + "../old/base/5/16384", patch(3, 3));
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(escaping), tmp.resolve("a"),
                base, BASE, (f, b) -> { })).hasMessageContaining("outside the data directory");
        byte[] pastTheEnd = tar(IncrementalFormat.MARKER, marker(BASE),
                IncrementalFormat.REUSE_PREFIX + "base/5/16384", patch(3, 2, 2, 1));
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(pastTheEnd), tmp.resolve("b"),
                base, BASE, (f, b) -> { })).hasMessageContaining("writes block 2 of a segment of 2 blocks");
        byte[] ragged = tar(IncrementalFormat.MARKER, marker(BASE),
                IncrementalFormat.REUSE_PREFIX + "base/5/16386", Arrays.copyOf(patch(1, 1, 0, 1), 16 + 100));
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(ragged), tmp.resolve("c"),
                base, BASE, (f, b) -> { })).hasMessageContaining("not a header and whole pages");
        byte[] huge = tar(IncrementalFormat.MARKER, marker(BASE),
                IncrementalFormat.REUSE_PREFIX + "base/5/16386", patch(1, 1L << 40));
        assertThatThrownBy(() -> new TarUnpacker(1 << 24).unpack(new ByteArrayInputStream(huge), tmp.resolve("d"),
                base, BASE, (f, b) -> { })).hasMessageContaining("is not a segment of at most");
    }
}
