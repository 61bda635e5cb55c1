package dev.strata.infra.testing;

import dev.strata.pgcore.tools.NodeTools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Build step (exec-maven-plugin, process-test-classes): links {@code target/jsii-node} to the Node 22
 * that pgcore's {@link NodeTools} installs, so surefire can set {@code JSII_NODE} to a fixed path
 * (jsii reads it from the environment when the first CDK class loads; a test cannot set it later).
 */
public final class JsiiNodeLink {

    private JsiiNodeLink() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: JsiiNodeLink <link path>");
        }
        Path link = Path.of(args[0]);
        Path node = NodeTools.get().node();
        if (!Files.isExecutable(node)) {
            throw new IllegalStateException("NodeTools has no executable node at " + node);
        }
        Files.createDirectories(link.toAbsolutePath().getParent());
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, node);
    }
}
