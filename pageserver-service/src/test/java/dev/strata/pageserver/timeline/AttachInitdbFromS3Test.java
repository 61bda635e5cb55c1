package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.basebackup.Basebackup;
import dev.strata.remote.EmbeddedS3;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.RetryingRemoteStorage;
import dev.strata.remote.S3RemoteStorage;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A timeline created by a real PostgreSQL 17 initdb (catalogs, CLOG, relmapper, control file
 * imported into layers) is uploaded to a real S3-compatible server; the pageserver's directory
 * is deleted; a pageserver with an empty disk attaches the timeline from S3 and produces the same
 * basebackup, file by file, as the original did.
 */
class AttachInitdbFromS3Test {

    @TempDir
    Path tmp;

    @Test
    void anInitdbTimelineSurvivesTheLossOfThePageserversDisk() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (EmbeddedS3 s3 = EmbeddedS3.start(tmp.resolve("s3"));
             RemoteStorage storage = new RetryingRemoteStorage(new S3RemoteStorage(s3.config()),
                     RetryingRemoteStorage.Policy.DEFAULTS)) {
            TimelineId id = TimelineId.random();
            Path dataA = tmp.resolve("ps-a");
            Map<String, byte[]> before;
            Lsn lsn;
            Lsn prev;
            try (TimelineManager a = new TimelineManager(dataA, StorageConfig.DEFAULTS, Timeline.Options.DEFAULTS, group,
                    new RemoteTimeline(storage, Generation.of(1)))) {
                Timeline t = a.create(new TimelineManager.CreateRequest(id, null, true, false, List.of()));
                lsn = t.store().diskConsistentLsn();
                prev = t.store().diskConsistentPrevRecordLsn();
                assertThat(t.awaitRemoteConsistent(lsn, Duration.ofSeconds(120))).as("%s", t.remoteStatus()).isTrue();
                before = basebackup(t, lsn, prev);
            }
            FileTrees.deleteRecursively(dataA);

            try (TimelineManager b = new TimelineManager(tmp.resolve("ps-b"), StorageConfig.DEFAULTS,
                    Timeline.Options.DEFAULTS, group, new RemoteTimeline(storage, Generation.of(2)))) {
                Timeline t = b.attach(id, List.of());
                assertThat(t.store().diskConsistentLsn()).isEqualTo(lsn);
                assertThat(t.store().diskConsistentPrevRecordLsn()).isEqualTo(prev);
                Map<String, byte[]> after = basebackup(t, lsn, prev);
                // pg_control and the WAL segment's checkpoint record carry the basebackup's own time;
                // every other file (catalog pages, CLOG, relmapper files, ...) must be identical.
                for (String timed : List.of("global/pg_control", "pg_wal/000000010000000000000001")) {
                    assertThat(before).containsKey(timed);
                    assertThat(after.remove(timed)).hasSameSizeAs(before.remove(timed));
                }
                assertThat(before.size()).isGreaterThan(500);
                assertThat(after.keySet()).isEqualTo(before.keySet());
                List<String> differ = before.keySet().stream()
                        .filter(name -> !Arrays.equals(after.get(name), before.get(name))).toList();
                assertThat(differ).isEmpty();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static Map<String, byte[]> basebackup(Timeline t, Lsn lsn, Lsn prev) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Basebackup.write(t.store(), t.redo(), lsn, prev, out);
        return untar(out.toByteArray());
    }

    /** Regular files of a ustar archive: name → content. */
    private static Map<String, byte[]> untar(byte[] tar) {
        Map<String, byte[]> files = new TreeMap<>();
        int pos = 0;
        while (pos + 512 <= tar.length && tar[pos] != 0) {
            String name = cString(tar, pos, 100);
            String prefix = cString(tar, pos + 345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
            long size = Long.parseLong(cString(tar, pos + 124, 12).trim(), 8);
            char type = (char) tar[pos + 156];
            pos += 512;
            if (type == '0' || type == 0) {
                files.put(name, Arrays.copyOfRange(tar, pos, pos + (int) size));
            }
            pos += (int) ((size + 511) / 512 * 512);
        }
        return files;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.US_ASCII);
    }
}
