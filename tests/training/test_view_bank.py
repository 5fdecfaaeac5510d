"""The view bank: each image's augmentation draws are encoded once, reproducibly, and read one per epoch."""

from __future__ import annotations

import pytest
import torch

from causalvlm.data import DATASETS
from causalvlm.experiments import build_view_transform, method_spec
from causalvlm.training.datamodule import sample_seed
from causalvlm.training.view_bank import ViewBank, ViewBankDataset, image_seed


@pytest.fixture()
def train_x(jpeg_root):
    return DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=2, seed=1).train_x


def test_bank_holds_the_seeded_draws_of_each_image(backbone, train_x):
    transform = build_view_transform(method_spec("cdc", templates=2, aug="aug2"), backbone)
    bank = ViewBank(backbone, draws=3, batch_size=4)
    features = bank.get(train_x, transform, key=("aug2", 2))
    assert features.shape == (len(train_x), 3, 2, backbone.embed_dim)
    # draw k of image i is the transform under the seed fixed by (image bytes, k): recompute one by hand
    from PIL import Image

    with Image.open(train_x[1].impath) as image, torch.random.fork_rng(devices=[]):
        torch.manual_seed(sample_seed(image_seed(train_x[1].impath), 2, 0))
        views = transform(image.convert("RGB"))
    with torch.no_grad():
        expected = backbone.encode_image(views)
    torch.testing.assert_close(features[1, 2], expected, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(features[1, 0], features[1, 1])  # aug2 crops: the draws differ


def test_images_shared_by_requests_are_encoded_once(backbone, train_x):
    transform = build_view_transform(method_spec("coop"), backbone)
    bank = ViewBank(backbone, draws=2)
    first = bank.get(train_x[:3], transform, key="coop")
    again = bank.get(train_x[1:5], transform, key="coop")
    assert bank.encoded_images == 5  # images 1 and 2 came from the bank the second time
    torch.testing.assert_close(first[1:], again[:2])
    bank.get(train_x[:1], transform, key="other")  # another transform key is another entry
    assert bank.encoded_images == 6


def test_each_epoch_reads_a_draw_no_earlier_epoch_read_until_the_bank_runs_out():
    features = torch.randn(5, 4, 1, 8)
    dataset = ViewBankDataset(features, torch.arange(5), seed=3)
    for index in range(5):
        draws = [dataset.draw(index, epoch) for epoch in range(8)]
        assert sorted(draws[:4]) == [0, 1, 2, 3] and draws[4:] == draws[:4]
        item = dataset[(index, 6)]
        torch.testing.assert_close(item["features"], features[index, draws[6]])
    again = ViewBankDataset(features, torch.arange(5), seed=3)
    other = ViewBankDataset(features, torch.arange(5), seed=4)
    assert torch.equal(again.order, dataset.order) and not torch.equal(other.order, dataset.order)


def test_bad_bank_input_is_named():
    with pytest.raises(ValueError, match="draw"):
        ViewBank(None, draws=0)
    with pytest.raises(ValueError, match=r"\[N,K,V,D\]"):
        ViewBankDataset(torch.zeros(3, 8), torch.arange(3), seed=1)
