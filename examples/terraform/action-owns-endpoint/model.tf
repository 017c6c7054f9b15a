# Optional: Terraform makes the model and the workflow deploys it with `model-name`. Leave `model_image` empty
# and let the action make each model from `image` instead (recommended): it keeps the serving model until the
# new one is proven, and deletes it only then.
#
# What Terraform's model costs: a new image replaces the model, and Terraform destroys the old one (the one the
# endpoint serves) before it creates the new one. If the rollout then rolls back, the endpoint serves a config
# whose model no longer exists. It keeps answering, but SageMaker cannot launch another instance of it: no
# scale-out, no scale from zero, no replacement of a failed instance. The action warns before such an update
# and says so in its verdict; the way out is to roll forward, or to create the model again under its old name.

resource "aws_sagemaker_model" "this" {
  count              = var.model_image == "" ? 0 : 1
  name               = "${var.endpoint_name}-${substr(sha256(var.model_image), 0, 12)}"
  execution_role_arn = aws_iam_role.execution.arn
  tags               = local.tags

  primary_container {
    image          = var.model_image
    model_data_url = var.model_data_url == "" ? null : var.model_data_url
  }

  # The role must be able to read the artifact and pull the image before SageMaker accepts the model.
  depends_on = [aws_iam_role_policy.execution]
}
