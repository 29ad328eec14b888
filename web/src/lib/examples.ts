// The tritonclient example: the API gives curl/python/openai, the Open Inference Protocol route we build.

export function tritonExample(name: string, endpoint: string, secured: boolean): string {
  const url = endpoint.replace(/^https?:\/\//, "");
  const headers = secured ? `, headers={"Authorization": f"Bearer {os.environ['BERTH_API_KEY']}"}` : "";
  return [
    ...(secured ? ["import os", ""] : []),
    "import numpy as np",
    "import tritonclient.http as httpclient",
    "",
    `# POST ${endpoint}/v2/models/${name}/infer (Open Inference Protocol / KServe V2)`,
    `client = httpclient.InferenceServerClient(url="${url}")`,
    'text = httpclient.InferInput("text", [1], "BYTES")',
    'text.set_data_from_numpy(np.array(["I love this product!"], dtype=object))',
    `result = client.infer("${name}", [text]${headers})`,
    "print(result.get_response())",
  ].join("\n");
}

export function curlV2Example(name: string, endpoint: string, secured: boolean): string {
  const auth = secured ? ' -H "Authorization: Bearer $BERTH_API_KEY"' : "";
  const body = JSON.stringify({
    inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: ["I love this product!"] }],
  });
  return `curl -s -X POST ${endpoint}/v2/models/${name}/infer -H 'Content-Type: application/json'${auth} -d '${body}'`;
}
