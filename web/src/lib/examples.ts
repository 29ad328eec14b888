// The tritonclient example: the API gives curl/python/openai, the Open Inference Protocol route we build.
// It works for every model whose first input is BYTES text (every text model, and a predictor that
// declares no signature); tests/integration/test_worker_v2_tritonclient.py runs it against a worker.

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
    `metadata = client.get_model_metadata("${name}"${headers})  # the input's name: "text" for text models`,
    'text = httpclient.InferInput(metadata["inputs"][0]["name"], [1], "BYTES")',
    'text.set_data_from_numpy(np.array(["I love this product!"], dtype=object))',
    `result = client.infer("${name}", [text]${headers})  # binary tensors both ways, tritonclient's default`,
    'for output in result.get_response()["outputs"]:',
    '    print(output["name"], result.as_numpy(output["name"]))',
  ].join("\n");
}

export function curlV2Example(name: string, endpoint: string, secured: boolean): string {
  const auth = secured ? ' -H "Authorization: Bearer $BERTH_API_KEY"' : "";
  const body = JSON.stringify({
    inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: ["I love this product!"] }],
  });
  return `curl -s -X POST ${endpoint}/v2/models/${name}/infer -H 'Content-Type: application/json'${auth} -d '${body}'`;
}
