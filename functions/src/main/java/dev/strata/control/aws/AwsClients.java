package dev.strata.control.aws;

import java.net.URI;
import java.util.Map;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;

/**
 * The AWS SDK clients of a control-plane function, built one way: the JDK's URL connection (no
 * Netty or Apache client in the bundle), the function's {@code AWS_REGION}, and an endpoint from
 * an environment variable instead of AWS's where one is set (moto or LocalStack in tests).
 */
public final class AwsClients {

    private AwsClients() {
    }

    public static <B extends AwsSyncClientBuilder<B, C> & AwsClientBuilder<B, C>, C> C build(B builder,
            Map<String, String> env, String endpointEnv) {
        builder.httpClient(UrlConnectionHttpClient.create())
                .region(Region.of(env.getOrDefault("AWS_REGION", "us-east-1")));
        String endpoint = env.get(endpointEnv);
        if (endpoint != null && !endpoint.isBlank()) {
            builder.endpointOverride(URI.create(endpoint));
        }
        return builder.build();
    }
}
