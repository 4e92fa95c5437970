import AWSSigV4
import Foundation
import GatewayTesting
import KafkaClient
import MSKIAMAuth
import Testing

/// An MSK IAM token handed to librdkafka through the OAUTHBEARER hook is accepted by
/// `rd_kafka_oauthbearer_set_token` (no broker needed: the refresh runs before connecting).
@Suite struct MSKWiringTests {
    @Test(arguments: ["", "msk-iam"])
    func mskTokenIsAcceptedByLibrdkafka(principal: String) throws {
        let port = try KafkaPeers.freePort()
        let builder = try MSKIAMTokenBuilder(region: "eu-west-1")
        let credential = AWSCredential(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "session")
        let issued = Signal<Int64>()
        let producer = try KafkaProducer(
            properties: [
                "bootstrap.servers": "127.0.0.1:\(port)",
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "OAUTHBEARER",
            ],
            logger: KafkaTestEnvironment.logger,
            handlers: KafkaClientHandlers(
                deliveryReports: { _ in },
                oauthBearerToken: { _ in
                    do throws(MSKIAMAuthError) {
                        let token = try builder.token(credential: credential)
                        issued.set(token.expiresAtMs)
                        return .success(KafkaOAuthBearerToken(value: token.value, lifetimeMs: token.expiresAtMs, principal: principal))
                    } catch {
                        return .failure(KafkaOAuthBearerTokenError(error.message))
                    }
                }
            )
        )
        let expiry = try #require(issued.wait(seconds: 20))
        producer.close(timeout: .zero)
        switch producer.lastOAuthBearerTokenRefresh {
        case .success(let lifetime): #expect(lifetime == expiry)
        case .failure(let failure): Issue.record("librdkafka refused the token (principal \(String(reflecting: principal))): \(failure)")
        case nil: Issue.record("no token refresh recorded")
        }
    }
}
