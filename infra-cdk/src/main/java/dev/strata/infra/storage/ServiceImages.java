package dev.strata.infra.storage;

import java.nio.file.Path;
import java.util.List;
import software.amazon.awscdk.services.ecr.assets.Platform;
import software.amazon.awscdk.services.ecs.AssetImageProps;
import software.amazon.awscdk.services.ecs.ContainerImage;

/**
 * The services' container images: {@code infra-cdk/docker/<service>/Dockerfile}, built from the
 * repository checkout by {@code cdk deploy} on the deploying machine (synth only fingerprints the
 * sources, so the tests need no Docker engine).
 */
public final class ServiceImages {

    /** Paths never sent to the Docker build: build outputs, local clusters, VCS data. */
    public static final List<String> EXCLUDE = List.of(".git", "**/target", ".strata", "**/.strata", "bench/out",
            "**/node_modules", "**/cdk.out", ".idea", ".vscode");

    private final Path repoRoot;

    public ServiceImages(Path repoRoot) {
        this.repoRoot = repoRoot;
    }

    /** The image of one service: safekeeper, pageserver, proxy or compute. */
    public ContainerImage of(String service) {
        return ContainerImage.fromAsset(repoRoot.toString(), AssetImageProps.builder()
                .file("infra-cdk/docker/" + service + "/Dockerfile")
                .exclude(EXCLUDE)
                .platform(Platform.LINUX_AMD64)
                .build());
    }
}
