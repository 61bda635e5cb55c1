package dev.strata.compute.basebackup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
}
