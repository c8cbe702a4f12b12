import com.sun.tools.attach.VirtualMachine;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * The broker's cumulative request and per-topic counters, one per line, for
 * fanout_cli/bench/kafka_load.py: "request KIND COUNT" (summed over API versions) and
 * "topic METRIC TOPIC COUNT". Run from source by the JDK that runs the broker:
 * java KafkaCounters.java BROKER_PID (attaches to the process, which must be this user's).
 */
public class KafkaCounters {
    public static void main(String[] args) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        try (JMXConnector jmx = JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()))) {
            MBeanServerConnection server = jmx.getMBeanServerConnection();
            for (ObjectName name : server.queryNames(new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*"), null)) {
                System.out.println("request " + name.getKeyProperty("request") + " " + server.getAttribute(name, "Count"));
            }
            for (ObjectName name : server.queryNames(new ObjectName("kafka.server:type=BrokerTopicMetrics,topic=*,*"), null)) {
                Object count;
                try {
                    count = server.getAttribute(name, "Count");
                } catch (Exception notAMeter) {
                    continue;
                }
                System.out.println("topic " + name.getKeyProperty("name") + " " + name.getKeyProperty("topic") + " " + count);
            }
        } finally {
            vm.detach();
        }
    }
}
